# Addresses before the pipeline functions became one for_each (lambda.tf, iam.tf): an existing
# deployment moves its resources in place instead of replacing them.

moved {
  from = aws_iam_role.processor[0]
  to   = aws_iam_role.lambda["processor"]
}

moved {
  from = aws_iam_role_policy.processor[0]
  to   = aws_iam_role_policy.lambda["processor"]
}

moved {
  from = aws_lambda_function.processor[0]
  to   = aws_lambda_function.pipeline["processor"]
}

moved {
  from = aws_lambda_function_event_invoke_config.processor[0]
  to   = aws_lambda_function_event_invoke_config.pipeline["processor"]
}

moved {
  from = aws_iam_role.remediation[0]
  to   = aws_iam_role.lambda["remediation"]
}

moved {
  from = aws_iam_role_policy.remediation[0]
  to   = aws_iam_role_policy.lambda["remediation"]
}

moved {
  from = aws_lambda_function.remediation[0]
  to   = aws_lambda_function.pipeline["remediation"]
}

moved {
  from = aws_lambda_function_event_invoke_config.remediation[0]
  to   = aws_lambda_function_event_invoke_config.pipeline["remediation"]
}

moved {
  from = aws_iam_role.router[0]
  to   = aws_iam_role.lambda["router"]
}

moved {
  from = aws_iam_role_policy.router[0]
  to   = aws_iam_role_policy.lambda["router"]
}

moved {
  from = aws_lambda_function.router[0]
  to   = aws_lambda_function.pipeline["router"]
}
