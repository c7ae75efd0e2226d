terraform {
  # 1.9 is the first release whose variable validations may refer to other variables
  # (enable_remediation checks enable_alert_topic).
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the release mirrored for offline use in CI and on the development machine.
      version = "~> 5.100"
    }
  }
}
