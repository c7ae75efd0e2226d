/**
 * infra/ checked three ways, with as few terraform runs as a 2-core machine can afford:
 *  1. offline: `terraform fmt -check -recursive` and `terraform validate`;
 *  2. `terraform test` (infra/tests/*.tftest.hcl) with a mocked provider: plan-time policy checks
 *     (network, encryption, functions) and refusal of bad variables, in seconds;
 *  3. against moto_server: one saved plan (IAM policy checks on `terraform show -json`), applied with every
 *     optional part on; the result is inspected through the AWS APIs, planned again (no changes) and
 *     destroyed.
 * The tests of part 3 run in order and share the deployment: each one checks one thing a user relies on.
 */
import { generateKeyPairSync } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  CloudWatchLogsClient,
  DescribeLogGroupsCommand,
  DescribeSubscriptionFiltersCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  SNSClient,
} from "@aws-sdk/client-sns";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createZip } from "../../functions/tools/zip.js";
import {
  cloudWatchQuery,
  ec2Query,
  eventsCall,
  lambdaGet,
  xmlItems,
  xmlValues,
} from "../helpers/aws-query.js";
import { MOTO_REGION, type Moto, motoAvailable, startMoto, toolGate } from "../helpers/moto.js";
import { runCommand, TerraformWorkspace, terraformAvailable, varArgs } from "../helpers/terraform.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const INFRA = join(REPO, "infra");
const BUNDLES = ["generator", "processor", "remediation", "router"] as const;

const withTerraform = toolGate("terraform", terraformAvailable());
const withMoto = withTerraform && toolGate("moto_server", motoAvailable());

const OPERATOR_CIDR = "203.0.113.7/32";
const ALERT_EMAIL = "oncall@example.com";
const EMAIL_FILTER_POLICY = { severity: ["critical"] };
const PREFIX = "cloud-observability";
const PROCESSOR = `${PREFIX}-processor`;
const REMEDIATION = `${PREFIX}-remediation`;
const LOG_GROUP = "/cloud-observability/generator";

// ------------------------------------------------------------------------------------------------
// Plan JSON (the subset of `terraform show -json` these tests read)
// ------------------------------------------------------------------------------------------------

interface PlannedResource {
  address: string;
  type: string;
  values: Record<string, unknown>;
}

interface PlanJson {
  planned_values?: { root_module?: { resources?: PlannedResource[] } };
}

interface PolicyStatement {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  Resource?: string | string[];
  Principal?: { AWS?: string | string[]; Service?: string | string[] };
  Condition?: Record<string, Record<string, string | string[]>>;
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

function openssh(publicKeyDer: Buffer): string {
  // An SPKI-encoded Ed25519 key ends with the 32 raw key bytes; OpenSSH wraps them in its own blob.
  const raw = publicKeyDer.subarray(publicKeyDer.length - 32);
  const field = (data: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    return Buffer.concat([length, data]);
  };
  const blob = Buffer.concat([field(Buffer.from("ssh-ed25519")), field(raw)]);
  return `ssh-ed25519 ${blob.toString("base64")} terraform-test`;
}

function standInBundles(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const source = Buffer.from("exports.handler = async () => ({ standIn: true });\n");
  for (const name of BUNDLES) {
    writeFileSync(join(dir, `${name}.zip`), createZip([{ name: "index.js", data: source }]));
  }
}

/**
 * The zips to deploy, copied into `snapshotDir` so that a rebuild of dist/ while the suite runs
 * cannot change them between apply and the second plan: dist/ from `npm run build` (built here
 * when missing), or stand-in zips when there is no working build yet.
 */
async function prepareBundles(snapshotDir: string): Promise<string> {
  const dist = join(REPO, "dist");
  const complete = () => BUNDLES.every((name) => existsSync(join(dist, `${name}.zip`)));
  const snapshot = () => {
    mkdirSync(snapshotDir, { recursive: true });
    for (const name of BUNDLES) copyFileSync(join(dist, `${name}.zip`), join(snapshotDir, `${name}.zip`));
    return snapshotDir;
  };
  if (complete()) return snapshot();
  const scripts = record(JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts);
  if (typeof scripts.build === "string") {
    const build = await runCommand("npm", ["run", "build"], { cwd: REPO });
    if (build.code === 0 && complete()) return snapshot();
    console.warn(
      `note: npm run build failed (exit ${build.code}); deploying stand-in zips\n${build.stderr.slice(-2000)}`,
    );
  } else {
    console.warn("note: no build script in package.json yet; deploying stand-in zips");
  }
  standInBundles(snapshotDir);
  return snapshotDir;
}

describe.runIf(withTerraform)("infra/ Terraform configuration", () => {
  let workspace: TerraformWorkspace;

  beforeAll(async () => {
    workspace = TerraformWorkspace.create(INFRA);
    await workspace.init();
  }, 180_000);

  afterAll(() => workspace?.cleanup());

  test("is formatted (terraform fmt -check -recursive)", async () => {
    const result = await runCommand("terraform", ["fmt", "-check", "-recursive", "-no-color", INFRA], {
      cwd: REPO,
    });
    expect(result.stdout, "files terraform fmt would rewrite").toBe("");
    expect(result.code).toBe(0);
  }, 60_000);

  test("passes terraform validate", async () => {
    const result = await workspace.run(["validate", "-no-color"]);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
  }, 120_000);

  test("renders a boot script under EC2's 16 KB limit that installs the restarting systemd unit", async () => {
    const printed = await workspace.evaluate(
      `base64encode(templatefile("templates/user_data.sh.tftpl", {
        region = "eu-west-1", log_group_name = "/team/generator", bundle_bucket = "bucket",
        bundle_key = "bundles/generator.zip", bundle_sha256_base64 = "c2hhMjU2",
        generator_environment = { SPEED = "2", SEED = "7" } }))`,
      varArgs({ ssh_allowed_cidr: OPERATOR_CIDR }),
    );
    // base64 so that console's HCL string escaping (of "${" and "%{") cannot alter the script.
    const script = Buffer.from(JSON.parse(printed.trim()) as string, "base64").toString("utf8");
    expect(Buffer.byteLength(script)).toBeLessThan(16 * 1024);
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(script).toContain('aws s3 cp "s3://bucket/bundles/generator.zip"');
    expect(script).toContain('if [ "$actual_sha" != "c2hhMjU2" ]');
    const unit = script.slice(script.indexOf("[Unit]"), script.indexOf("\nUNIT\n"));
    for (const line of [
      "ExecStart=$NODE_BIN index.js",
      "Environment=RUN_MODE=daemon",
      "Environment=LOG_GROUP_NAME=/team/generator",
      "Environment=AWS_REGION=eu-west-1",
      'Environment="SEED=7"',
      'Environment="SPEED=2"',
      "Restart=on-failure",
      "RestartPreventExitStatus=2",
    ]) {
      expect(unit.split("\n"), line).toContain(line);
    }
    expect(script).toContain("systemctl enable --now cloud-observability.service");
    const syntax = await runCommand("bash", ["-n"], { cwd: workspace.dir, input: script });
    expect(syntax.stderr).toBe("");
    expect(syntax.code).toBe(0);
  }, 60_000);

  test("passes its terraform test suite (mocked provider: policy and variable checks)", async () => {
    const result = await workspace.run(["test", "-no-color"]);
    expect(result.stdout).toMatch(/Success! \d+ passed, 0 failed/);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }, 300_000);

  describe.runIf(withMoto)("applied to moto_server with every optional part on", () => {
    let moto: Moto;
    let plan: PlanJson;
    let resources: PlannedResource[];
    let deployVars: string[];
    let outputs: Record<string, string | null> = {};
    let applied = false;
    let destroyed = false;

    const clientConfig = () => ({
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const planned = (type: string) => resources.filter((resource) => resource.type === type);

    beforeAll(async () => {
      moto = await startMoto();

      const bundleDir = await prepareBundles(join(workspace.dir, "bundles"));
      const { publicKey } = generateKeyPairSync("ed25519");
      const al2023 = await ec2Query(moto.endpoint, "DescribeImages", {
        "Owner.1": "amazon",
        "Filter.1.Name": "name",
        "Filter.1.Value.1": "al2023-ami-2023.*-kernel-*-x86_64",
      });
      const amiOverride: Record<string, string> = {};
      if (xmlValues(al2023, "imageId").length === 0) {
        // Only when this moto has no Amazon Linux 2023 image: then the lookup cannot be exercised.
        const anyImage = xmlValues(await ec2Query(moto.endpoint, "DescribeImages"), "imageId")[0];
        if (anyImage === undefined) throw new Error("moto_server knows no AMI at all");
        console.warn(`note: moto has no AL2023 image; passing ami_id=${anyImage}`);
        amiOverride.ami_id = anyImage;
      }

      deployVars = varArgs({
        endpoint: moto.endpoint,
        aws_region: MOTO_REGION,
        dist_dir: bundleDir,
        ssh_allowed_cidr: OPERATOR_CIDR,
        ssh_public_key: openssh(publicKey.export({ format: "der", type: "spki" })),
        enable_generator_host: true,
        enable_processor: true,
        enable_alert_topic: true,
        enable_remediation: true,
        enable_state_table: true,
        enable_slack: true,
        enable_session_manager: true,
        // The scale-out path: the log group feeds Kinesis, a router, and the processor per shard.
        enable_kinesis: true,
        kinesis_shard_count: 1,
        alert_email: ALERT_EMAIL,
        alert_email_filter_policy: JSON.stringify(EMAIL_FILTER_POLICY),
        ...amiOverride,
      });

      const planned = await workspace.run([
        "plan",
        "-input=false",
        "-no-color",
        "-out=deploy.tfplan",
        ...deployVars,
      ]);
      if (planned.code !== 0) throw new Error(`terraform plan failed:\n${planned.stderr}`);
      const shown = await workspace.run(["show", "-json", "-no-color", "deploy.tfplan"]);
      if (shown.code !== 0) throw new Error(`terraform show failed:\n${shown.stderr}`);
      plan = JSON.parse(shown.stdout) as PlanJson;
      resources = plan.planned_values?.root_module?.resources ?? [];
    }, 300_000);

    afterAll(async () => {
      try {
        // A failed test must not leave state behind that the next run trips over.
        if (applied && !destroyed)
          await workspace.run(["destroy", "-auto-approve", "-input=false", "-no-color", ...deployVars]);
      } finally {
        await moto?.stop();
      }
    }, 300_000);

    test("plan: every IAM policy is known before apply and grants no wildcard action or resource (one opt-in exception)", () => {
      const policies = planned("aws_iam_role_policy");
      expect(policies.map((policy) => policy.address).sort()).toEqual([
        "aws_iam_role_policy.host[0]",
        'aws_iam_role_policy.lambda["processor"]',
        'aws_iam_role_policy.lambda["remediation"]',
        'aws_iam_role_policy.lambda["router"]',
        "aws_iam_role_policy.logs_to_kinesis[0]",
        "aws_iam_role_policy.processor_history[0]",
        "aws_iam_role_policy.processor_slack[0]",
      ]);
      const grants: Record<string, string[]> = {};
      for (const policy of policies) {
        expect(typeof policy.values.policy, `${policy.address} policy known at plan time`).toBe("string");
        const statements = (JSON.parse(String(policy.values.policy)) as { Statement: PolicyStatement[] })
          .Statement;
        for (const statement of statements.filter((s) => s.Effect === "Allow")) {
          for (const action of asList(statement.Action)) {
            expect(action, `${policy.address} ${statement.Sid}`).not.toMatch(/^\*$|:\*$/);
          }
          grants[`${policy.address}:${statement.Sid}`] = asList(statement.Resource);
          // Session Manager's channels (enable_session_manager, on here): AWS defines no resource
          // type for ssmmessages, so this statement alone must say "*"; checked below.
          if (policy.address === "aws_iam_role_policy.host[0]" && statement.Sid === "SessionManagerChannels")
            continue;
          expect(asList(statement.Resource), `${policy.address} ${statement.Sid}`).not.toContain("*");
        }
      }
      expect(grants['aws_iam_role_policy.lambda["processor"]:PublishAlerts']).toEqual([
        `arn:aws:sns:${MOTO_REGION}:123456789012:${PREFIX}-alerts`,
      ]);
      const historyArn = `arn:aws:dynamodb:${MOTO_REGION}:123456789012:table/${PREFIX}-history`;
      expect([...(grants["aws_iam_role_policy.processor_history[0]:History"] ?? [])].sort()).toEqual([
        historyArn,
        `${historyArn}/index/by_fingerprint`,
      ]);
      expect(grants["aws_iam_role_policy.processor_slack[0]:ReadSlackWebhookUrl"]).toEqual([
        `arn:aws:ssm:${MOTO_REGION}:123456789012:parameter/${PREFIX}/slack-webhook-url`,
      ]);
      const streams = `arn:aws:kinesis:${MOTO_REGION}:123456789012:stream/${PREFIX}`;
      expect(grants["aws_iam_role_policy.logs_to_kinesis[0]:PutIntoLogStream"]).toEqual([`${streams}-logs`]);
      expect(grants['aws_iam_role_policy.lambda["router"]:ReadLogStream']).toEqual([`${streams}-logs`]);
      expect(grants['aws_iam_role_policy.lambda["router"]:WriteServiceStream']).toEqual([
        `${streams}-services`,
      ]);
      expect(grants['aws_iam_role_policy.lambda["processor"]:ReadServiceStream']).toEqual([
        `${streams}-services`,
      ]);
      expect(grants["aws_iam_role_policy.host[0]:ReadGeneratorBundle"]).toEqual([
        `arn:aws:s3:::${PREFIX}-123456789012-${MOTO_REGION}/bundles/generator.zip`,
      ]);

      // The instance role: its parameters under the project's path only, no managed policy (the SSM
      // core policy grants ssm:GetParameter(s) and more on "*"), Session Manager scoped.
      expect(grants["aws_iam_role_policy.host[0]:ReadProjectParameters"]).toEqual([
        `arn:aws:ssm:${MOTO_REGION}:123456789012:parameter/${PREFIX}/*`,
      ]);
      expect(grants["aws_iam_role_policy.host[0]:SessionManagerRegistersThisInstance"]).toEqual([
        `arn:aws:ec2:${MOTO_REGION}:123456789012:instance/*`,
      ]);
      const host = policies.find((p) => p.address === "aws_iam_role_policy.host[0]");
      const channels = (
        JSON.parse(String(host?.values.policy)) as { Statement: PolicyStatement[] }
      ).Statement.find((s) => s.Sid === "SessionManagerChannels");
      expect(asList(channels?.Action).every((a) => a.startsWith("ssmmessages:"))).toBe(true);
      expect(channels?.Condition).toEqual({
        ArnLike: { "ec2:SourceInstanceARN": `arn:aws:ec2:${MOTO_REGION}:123456789012:instance/*` },
      });
      expect(planned("aws_iam_role_policy_attachment")).toHaveLength(0);
    });

    test("plan: only the processor and this account's alarms may publish to the alert topic", () => {
      const [topicPolicy] = planned("aws_sns_topic_policy");
      expect(typeof topicPolicy?.values.policy, "topic policy known at plan time").toBe("string");
      const statements = (JSON.parse(String(topicPolicy?.values.policy)) as { Statement: PolicyStatement[] })
        .Statement;
      const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
      const topicArn = `arn:aws:sns:${MOTO_REGION}:123456789012:${PREFIX}-alerts`;
      const processorRole = `arn:aws:iam::123456789012:role/${PREFIX}-processor`;
      const publishers = statements.filter(
        (statement) => statement.Effect === "Allow" && asList(statement.Action).includes("sns:Publish"),
      );
      expect(publishers.map((statement) => statement.Principal)).toEqual([
        { AWS: processorRole },
        { Service: "cloudwatch.amazonaws.com" },
      ]);
      expect(asList(bySid.AccountManagesTheTopic?.Action)).not.toContain("sns:Publish");
      expect(bySid.NobodyElsePublishes).toMatchObject({
        Effect: "Deny",
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: {
          ArnNotEquals: { "aws:PrincipalArn": processorRole },
          StringNotEquals: { "aws:PrincipalServiceName": "cloudwatch.amazonaws.com" },
        },
      });
    });

    test("plan: the alert topic's key lets only the processor and this account's alarms encrypt to it", () => {
      const [key] = planned("aws_kms_key");
      expect(typeof key?.values.policy, "key policy known at plan time").toBe("string");
      const statements = (JSON.parse(String(key?.values.policy)) as { Statement: PolicyStatement[] })
        .Statement;
      const bySid = Object.fromEntries(statements.map((statement) => [statement.Sid, statement]));
      expect(Object.keys(bySid).sort()).toEqual([
        "AccountAdministersTheKey",
        "PipelineAlarmsPublish",
        "ProcessorPublishesAlerts",
      ]);
      expect(bySid.AccountAdministersTheKey?.Principal?.AWS).toBe("arn:aws:iam::123456789012:root");
      for (const sid of ["ProcessorPublishesAlerts", "PipelineAlarmsPublish"]) {
        expect(asList(bySid[sid]?.Action).sort(), sid).toEqual(["kms:Decrypt", "kms:GenerateDataKey*"]);
      }
      expect(bySid.ProcessorPublishesAlerts?.Principal?.AWS).toBe(
        `arn:aws:iam::123456789012:role/${PREFIX}-processor`,
      );
      expect(bySid.PipelineAlarmsPublish?.Principal?.Service).toBe("cloudwatch.amazonaws.com");
      expect(bySid.PipelineAlarmsPublish?.Condition).toEqual({
        StringEquals: { "aws:SourceAccount": "123456789012" },
      });
    });

    test("plan: a one-minute EventBridge schedule ticks the processor and the remediation function", () => {
      const [rule, ...more] = planned("aws_cloudwatch_event_rule");
      expect(more).toHaveLength(0);
      expect(rule?.values).toMatchObject({ name: `${PREFIX}-tick`, schedule_expression: "rate(1 minute)" });
      const targets = planned("aws_cloudwatch_event_target");
      expect(targets.map((t) => t.values.target_id).sort()).toEqual(["processor", "remediation"]);
      for (const target of targets) expect(target.values.rule).toBe(`${PREFIX}-tick`);
      const permissions = planned("aws_lambda_permission").filter(
        (p) => p.values.principal === "events.amazonaws.com",
      );
      expect(permissions.map((p) => p.values.function_name).sort()).toEqual([PROCESSOR, REMEDIATION]);
    });

    test("apply creates the whole stack", async () => {
      const result = await workspace.run(["apply", "-input=false", "-no-color", "deploy.tfplan"]);
      applied = true;
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      const shown = await workspace.run(["output", "-json", "-no-color"]);
      const raw = JSON.parse(shown.stdout) as Record<string, { value: string | null }>;
      outputs = Object.fromEntries(Object.entries(raw).map(([name, output]) => [name, output.value]));
      expect(outputs).toMatchObject({
        log_group_name: LOG_GROUP,
        processor_function_name: PROCESSOR,
        remediation_function_name: REMEDIATION,
      });
      expect(outputs.ssh_command).toMatch(/^ssh -i .* ec2-user@\d+\.\d+\.\d+\.\d+$/);
      expect(outputs.alert_topic_arn).toMatch(/^arn:aws:sns:/);
    }, 400_000);

    test("the generator log group feeds the log stream; router and processor read their streams", async () => {
      const logs = new CloudWatchLogsClient(clientConfig());
      const { subscriptionFilters } = await logs.send(
        new DescribeSubscriptionFiltersCommand({ logGroupName: LOG_GROUP }),
      );
      expect(subscriptionFilters?.map((f) => f.destinationArn)).toEqual([
        `arn:aws:kinesis:${MOTO_REGION}:123456789012:stream/${PREFIX}-logs`,
      ]);
      const { logGroups } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: LOG_GROUP }));
      expect(logGroups?.[0]?.retentionInDays).toBe(14);
      expect(outputs.kinesis_stream_names).toEqual({
        logs: `${PREFIX}-logs`,
        services: `${PREFIX}-services`,
      });
      for (const [fn, stream] of [
        [`${PREFIX}-router`, `${PREFIX}-logs`],
        [PROCESSOR, `${PREFIX}-services`],
      ]) {
        // Listed whole and filtered here: moto's FunctionName filter does not match every mapping.
        const listed = await lambdaGet(moto.endpoint, "/2015-03-31/event-source-mappings/");
        const mappings = (listed.EventSourceMappings ?? []) as {
          EventSourceArn?: string;
          FunctionArn?: string;
        }[];
        const ofFunction = mappings.filter((m) => m.FunctionArn?.endsWith(`:function:${fn}`));
        expect(
          ofFunction.map((m) => m.EventSourceArn),
          fn,
        ).toEqual([`arn:aws:kinesis:${MOTO_REGION}:123456789012:stream/${stream}`]);
      }
    });

    test("the alert topic is encrypted and has the email (filtered) and remediation subscriptions", async () => {
      const sns = new SNSClient(clientConfig());
      const topicArn = String(outputs.alert_topic_arn);
      const { Attributes } = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
      // Its own key (CloudWatch alarms cannot publish to a topic under the AWS-managed aws/sns key).
      expect(Attributes?.KmsMasterKeyId).toMatch(/^arn:aws:kms:us-east-1:123456789012:key\//);
      const { Subscriptions = [] } = await sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }),
      );
      const byProtocol = Object.fromEntries(Subscriptions.map((s) => [s.Protocol, s]));
      expect(byProtocol.email?.Endpoint).toBe(ALERT_EMAIL);
      expect(byProtocol.lambda?.Endpoint).toBe(
        `arn:aws:lambda:${MOTO_REGION}:123456789012:function:${REMEDIATION}`,
      );
      const email = await sns.send(
        new GetSubscriptionAttributesCommand({ SubscriptionArn: String(byProtocol.email?.SubscriptionArn) }),
      );
      expect(JSON.parse(email.Attributes?.FilterPolicy ?? "{}")).toEqual(EMAIL_FILTER_POLICY);
    });

    test("the pipeline alarms publish to the alert topic and the dashboard shows them", async () => {
      const topicArn = String(outputs.alert_topic_arn);
      const described = await cloudWatchQuery(moto.endpoint, "DescribeAlarms", {
        AlarmNamePrefix: `${PREFIX}-`,
      });
      // One chunk per alarm: from its name to the next alarm's (moto lists them as <member> blocks).
      const alarms = described
        .split("<AlarmName>")
        .slice(1)
        .map((chunk) => ({
          name: chunk.slice(0, chunk.indexOf("</AlarmName>")),
          actions: xmlValues(xmlValues(chunk, "AlarmActions")[0] ?? "", "member"),
          ok: xmlValues(xmlValues(chunk, "OKActions")[0] ?? "", "member"),
        }));
      expect(alarms.map((alarm) => alarm.name).sort()).toEqual(
        [
          "dead-letters",
          "no-events",
          "outbox-stuck",
          "processor-errors",
          "processor-throttles",
          "remediation-errors",
        ].map((name) => `${PREFIX}-${name}`),
      );
      for (const alarm of alarms) {
        expect(alarm.actions, alarm.name).toEqual([topicArn]);
        expect(alarm.ok, alarm.name).toEqual([topicArn]);
      }
      expect(outputs.dashboard_url).toContain(`#dashboards:name=${PREFIX}-pipeline`);
      const dashboard = await cloudWatchQuery(moto.endpoint, "GetDashboard", {
        DashboardName: `${PREFIX}-pipeline`,
      });
      const body = JSON.parse(
        (xmlValues(dashboard, "DashboardBody")[0] ?? "{}").replaceAll("&quot;", '"').replaceAll("&amp;", "&"),
      ) as { widgets: { type: string; properties: { title?: string } }[] };
      expect(body.widgets.map((widget) => widget.properties.title)).toEqual(
        expect.arrayContaining(["Rejected lines by reason", "Alerts fired by type", "Pipeline alarms"]),
      );
    });

    test("the host requires IMDSv2 and its root volume is encrypted", async () => {
      const instanceId = String(outputs.instance_id);
      const described = await ec2Query(moto.endpoint, "DescribeInstances", { "InstanceId.1": instanceId });
      expect(xmlValues(described, "httpTokens")).toEqual(["required"]);
      expect(xmlValues(described, "name")).toContain("running");
      const volumes = await ec2Query(moto.endpoint, "DescribeVolumes", {
        "Filter.1.Name": "attachment.instance-id",
        "Filter.1.Value.1": instanceId,
      });
      expect(xmlValues(volumes, "encrypted")).toEqual(["true"]);
    });

    test("no security group rule in the stack's VPC opens port 22 (or anything) to 0.0.0.0/0", async () => {
      const instance = await ec2Query(moto.endpoint, "DescribeInstances", {
        "InstanceId.1": String(outputs.instance_id),
      });
      const vpcId = xmlValues(instance, "vpcId")[0] ?? "";
      const described = await ec2Query(moto.endpoint, "DescribeSecurityGroups", {
        "Filter.1.Name": "vpc-id",
        "Filter.1.Value.1": vpcId,
      });
      const groups = xmlItems(described, "securityGroupInfo");
      expect(groups.length).toBeGreaterThanOrEqual(2); // the host's group and the emptied default
      const sshSources: string[] = [];
      for (const group of groups) {
        for (const rule of xmlItems(group, "ipPermissions")) {
          const sources = xmlValues(rule, "cidrIp");
          expect(sources).not.toContain("0.0.0.0/0");
          const from = Number(xmlValues(rule, "fromPort")[0] ?? 0);
          const to = Number(xmlValues(rule, "toPort")[0] ?? 65535);
          if (from <= 22 && to >= 22) sshSources.push(...sources);
        }
      }
      expect(sshSources).toEqual([OPERATOR_CIDR]);
    });

    test("the tick rule runs every minute and targets both functions", async () => {
      const rule = await eventsCall(moto.endpoint, "DescribeRule", { Name: `${PREFIX}-tick` });
      expect(rule).toMatchObject({ ScheduleExpression: "rate(1 minute)", State: "ENABLED" });
      const { Targets } = await eventsCall(moto.endpoint, "ListTargetsByRule", { Rule: `${PREFIX}-tick` });
      expect((Targets as { Arn: string }[]).map((t) => t.Arn).sort()).toEqual(
        [PROCESSOR, REMEDIATION].map((name) => `arn:aws:lambda:${MOTO_REGION}:123456789012:function:${name}`),
      );
    });

    test("failed async invocations go to the dead-letter queue; state table has TTL", async () => {
      for (const name of [PROCESSOR, REMEDIATION]) {
        const config = await lambdaGet(moto.endpoint, `/2019-09-25/functions/${name}/event-invoke-config`);
        expect(record(record(config.DestinationConfig).OnFailure).Destination).toBe(
          `arn:aws:sqs:${MOTO_REGION}:123456789012:${PREFIX}-async-dlq`,
        );
      }
      // No reservation by default (accounts with a concurrency quota of 10 can deploy); the state's
      // conditional writes order concurrent processors.
      const concurrency = await lambdaGet(moto.endpoint, `/2019-09-30/functions/${PROCESSOR}/concurrency`);
      expect(concurrency.ReservedConcurrentExecutions ?? null).toBeNull();
      // What the processor's outbox gives up on goes to the same queue, in full.
      const processor = await lambdaGet(moto.endpoint, `/2015-03-31/functions/${PROCESSOR}/configuration`);
      expect(String(record(record(processor.Environment).Variables).DEAD_LETTER_QUEUE_URL)).toMatch(
        new RegExp(`/${PREFIX}-async-dlq$`),
      );
      const dynamodb = new DynamoDBClient(clientConfig());
      const ttl = await dynamodb.send(
        new DescribeTimeToLiveCommand({ TableName: String(outputs.state_table_name) }),
      );
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: "ENABLED",
        AttributeName: "expires_at",
      });
      const table = await dynamodb.send(
        new DescribeTableCommand({ TableName: String(outputs.state_table_name) }),
      );
      expect(table.Table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    });

    test("the history table is keyed by service and day, indexed by fingerprint, with TTL; Slack's URL parameter is a SecureString", async () => {
      const dynamodb = new DynamoDBClient(clientConfig());
      const name = String(outputs.history_table_name);
      expect(name).toBe(`${PREFIX}-history`);
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
      expect(Table?.KeySchema).toEqual([
        { AttributeName: "pk", KeyType: "HASH" },
        { AttributeName: "sk", KeyType: "RANGE" },
      ]);
      expect(Table?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema])).toEqual([
        [
          "by_fingerprint",
          [
            { AttributeName: "fingerprint", KeyType: "HASH" },
            { AttributeName: "starts_at", KeyType: "RANGE" },
          ],
        ],
      ]);
      const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
      expect(ttl.TimeToLiveDescription).toMatchObject({
        TimeToLiveStatus: "ENABLED",
        AttributeName: "expires_at",
      });
      const ssm = new SSMClient(clientConfig());
      const { Parameter } = await ssm.send(
        new GetParameterCommand({ Name: String(outputs.slack_webhook_parameter), WithDecryption: true }),
      );
      expect(Parameter).toMatchObject({ Type: "SecureString", Value: "unset" });
      const processor = await lambdaGet(moto.endpoint, `/2015-03-31/functions/${PROCESSOR}`);
      const env = record(record(record(processor.Configuration).Environment).Variables);
      expect(env).toMatchObject({
        HISTORY_TABLE_NAME: name,
        HISTORY_RETENTION_DAYS: "90",
        SLACK_WEBHOOK_PARAMETER: `/${PREFIX}/slack-webhook-url`,
        ENVIRONMENT_NAME: PREFIX,
        REMEDIATION_ENABLED: "true",
        REMEDIATION_DRY_RUN: "true",
      });
    });

    test("a second plan finds no changes (the configuration matches what AWS reports back)", async () => {
      const result = await workspace.run([
        "plan",
        "-input=false",
        "-no-color",
        "-detailed-exitcode",
        ...deployVars,
      ]);
      // -detailed-exitcode: 0 = no changes, 2 = changes pending, 1 = error.
      expect(result.stdout).toContain("No changes.");
      expect(result.code).toBe(0);
    }, 300_000);

    test("destroy removes everything it created", async () => {
      const result = await workspace.run([
        "destroy",
        "-auto-approve",
        "-input=false",
        "-no-color",
        ...deployVars,
      ]);
      expect(result.code).toBe(0);
      destroyed = true;
      const sns = new SNSClient(clientConfig());
      const { Topics = [] } = await sns.send(new ListTopicsCommand({}));
      expect(Topics).toEqual([]);
      const logs = new CloudWatchLogsClient(clientConfig());
      const { logGroups = [] } = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/" }));
      expect(logGroups.map((group) => group.logGroupName)).toEqual([]);
      const instance = await ec2Query(moto.endpoint, "DescribeInstances", {
        "InstanceId.1": String(outputs.instance_id),
      });
      expect(xmlValues(xmlValues(instance, "instanceState")[0] ?? "", "name")).toEqual(["terminated"]);
    }, 400_000);
  });
});
