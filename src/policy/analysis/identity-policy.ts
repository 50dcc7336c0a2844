// Identity policies (inline and managed policies, permission sets, session policies) judged by the actions they
// grant after wildcard expansion against AWS's action catalogue: everything (admin-equivalent), a known way to
// raise one's own privileges, or a way to take data out. `iam:Put*`, `*:PassRole` and `NotAction` are read for what
// they expand to, and a Resource of `arn:aws:*:*:*:*` is every resource. Unconditional Deny statements on every
// resource take their actions away; conditions on an Allow are not relied on (the holder of the policy usually
// meets its own conditions, e.g. MFA).
import type { IamCatalogue } from '../iam-catalogue';
import type { AnalysisStatement } from './statements';

/**
 * Known privilege-escalation paths: every group of actions must be granted (each group: any one of its actions) on
 * every resource. From Rhino Security Labs, "AWS IAM Privilege Escalation – Methods and Mitigation" parts 1 and 2
 * (https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation/,
 * https://rhinosecuritylabs.com/aws/aws-privilege-escalation-methods-mitigation-part-2/), Bishop Fox's
 * iam-vulnerable (https://github.com/BishopFox/iam-vulnerable) and Datadog's pathfinding.cloud
 * (https://pathfinding.cloud/), which catalogue the same paths with tests.
 */
export const ESCALATION_PATHS: ReadonlyArray<{ name: string; needs: readonly (readonly string[])[] }> = [
  { name: 'create a new default version of a managed policy', needs: [['iam:CreatePolicyVersion']] },
  { name: 'switch a managed policy to another version', needs: [['iam:SetDefaultPolicyVersion']] },
  { name: 'create access keys for another user', needs: [['iam:CreateAccessKey']] },
  { name: 'set or reset another user\u2019s console password', needs: [['iam:CreateLoginProfile', 'iam:UpdateLoginProfile']] },
  { name: 'attach any managed policy to a user, group or role', needs: [['iam:AttachUserPolicy', 'iam:AttachGroupPolicy', 'iam:AttachRolePolicy']] },
  { name: 'write an inline policy on a user, group or role', needs: [['iam:PutUserPolicy', 'iam:PutGroupPolicy', 'iam:PutRolePolicy']] },
  { name: 'add a user to any group', needs: [['iam:AddUserToGroup']] },
  { name: 'rewrite a role\u2019s trust policy', needs: [['iam:UpdateAssumeRolePolicy']] },
  { name: 'remove or replace a permissions boundary', needs: [['iam:DeleteUserPermissionsBoundary', 'iam:DeleteRolePermissionsBoundary', 'iam:PutUserPermissionsBoundary', 'iam:PutRolePermissionsBoundary']] },
  { name: 'pass a role to a new EC2 instance', needs: [['iam:PassRole'], ['ec2:RunInstances']] },
  // Rhino's path also invokes it; a function with the role runs when anything already wired to it fires.
  { name: 'pass a role to a new Lambda function', needs: [['iam:PassRole'], ['lambda:CreateFunction']] },
  { name: 'replace the code or layers of an existing Lambda function', needs: [['lambda:UpdateFunctionCode', 'lambda:UpdateFunctionConfiguration']] },
  { name: 'pass a role to a CloudFormation stack', needs: [['iam:PassRole'], ['cloudformation:CreateStack', 'cloudformation:CreateStackSet', 'cloudformation:UpdateStack', 'cloudformation:CreateChangeSet']] },
  { name: 'pass a role to a Glue development endpoint or job', needs: [['iam:PassRole'], ['glue:CreateDevEndpoint', 'glue:CreateJob', 'glue:CreateSession']] },
  { name: 'update an existing Glue development endpoint', needs: [['glue:UpdateDevEndpoint']] },
  { name: 'pass a role to a Data Pipeline', needs: [['iam:PassRole'], ['datapipeline:CreatePipeline'], ['datapipeline:PutPipelineDefinition']] },
  { name: 'pass a role to an ECS task', needs: [['iam:PassRole'], ['ecs:RegisterTaskDefinition'], ['ecs:RunTask', 'ecs:StartTask', 'ecs:CreateService']] },
  { name: 'pass a role to a SageMaker notebook or job', needs: [['iam:PassRole'], ['sagemaker:CreateNotebookInstance', 'sagemaker:CreateTrainingJob', 'sagemaker:CreateProcessingJob']] },
  { name: 'pass a role to a CodeBuild project', needs: [['iam:PassRole'], ['codebuild:CreateProject'], ['codebuild:StartBuild', 'codebuild:StartBuildBatch']] },
  { name: 'pass a role to an Auto Scaling launch', needs: [['iam:PassRole'], ['autoscaling:CreateLaunchConfiguration', 'ec2:CreateLaunchTemplate'], ['autoscaling:CreateAutoScalingGroup', 'autoscaling:UpdateAutoScalingGroup']] },
  { name: 'pass a role to a Step Functions state machine', needs: [['iam:PassRole'], ['states:CreateStateMachine'], ['states:StartExecution']] },
  { name: 'pass a role to an App Runner service', needs: [['iam:PassRole'], ['apprunner:CreateService']] },
  { name: 'run commands on instances (and use their roles)', needs: [['ssm:SendCommand', 'ssm:StartSession', 'ec2-instance-connect:SendSSHPublicKey']] },
  { name: 'replace an instance\u2019s user data', needs: [['ec2:ModifyInstanceAttribute']] },
  { name: 'assign IAM Identity Center permission sets', needs: [['sso:CreateAccountAssignment', 'sso:AttachManagedPolicyToPermissionSet', 'sso:PutInlinePolicyToPermissionSet']] },
];

/**
 * Actions that read or hand out data, on every resource: MITRE ATT&CK T1530 (Data from Cloud Storage), T1537
 * (Transfer Data to Cloud Account), T1552 (Unsecured Credentials) and the Stratus Red Team techniques that play them
 * (credential-access.secretsmanager-retrieve-secrets, credential-access.ssm-retrieve-securestring-parameters,
 * credential-access.ec2-get-password-data, exfiltration.ec2-share-ebs-snapshot, exfiltration.ec2-share-ami,
 * exfiltration.rds-share-snapshot, exfiltration.s3-backdoor-bucket-policy).
 */
export const EXFILTRATION_ACTIONS: readonly string[] = [
  's3:GetObject',
  's3:GetObjectVersion',
  's3:PutBucketPolicy',
  's3:PutBucketAcl',
  's3:PutReplicationConfiguration',
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  'ssm:GetParameter',
  'ssm:GetParameters',
  'ssm:GetParametersByPath',
  'kms:Decrypt',
  'dynamodb:Scan',
  'dynamodb:Query',
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:ExportTableToPointInTime',
  'ec2:ModifySnapshotAttribute',
  'ec2:ModifyImageAttribute',
  'ec2:GetPasswordData',
  'rds:ModifyDBSnapshotAttribute',
  'rds:ModifyDBClusterSnapshotAttribute',
  'rds:StartExportTask',
  'lambda:GetFunction',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'logs:GetLogEvents',
  'logs:FilterLogEvents',
  'codecommit:GitPull',
  'redshift:AuthorizeSnapshotAccess',
];

/** Services whose every action an admin-equivalent policy must grant (all of them together, on every resource). */
const CORE_SERVICES = ['iam', 'sts', 'ec2', 's3', 'lambda', 'kms', 'organizations'];

export interface Capabilities {
  admin: boolean;
  escalation: string[];
  exfiltration: string[];
  /** Every action granted on every resource. */
  broad: ReadonlySet<string>;
}

/** A resource that stands for every resource: `*`, or an ARN whose every field is a wildcard. */
export function isEveryResource(r: string): boolean {
  if (r === '*') return true;
  const parts = r.split(':');
  return parts.length >= 6 && parts[0] === 'arn' && parts.slice(1).every((p, i) => p === '*' || (i === 0 && p === 'aws') || (i >= 2 && p === ''));
}

/**
 * A resource that stands for every resource of a kind (`arn:aws:iam::123456789012:role/*`, `arn:aws:iam::*:*`,
 * `arn:aws:s3:::*`): enough for an escalation path (any role to pass, any user to give keys to).
 */
export function isBroadResource(r: string): boolean {
  if (isEveryResource(r)) return true;
  const parts = r.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return false;
  const rest = parts.slice(5).join(':');
  if (rest === '*') return true;
  // IAM names its resource types in the path: role/* is every role (any role to pass, any user to give keys to).
  return parts[2] === 'iam' && /^(role|user|group|policy|instance-profile)\/\*$/.test(rest);
}

export function capabilities(statements: AnalysisStatement[], catalogue: IamCatalogue): Capabilities {
  // Granted on every resource of a type (escalation and exfiltration), and on every resource at all (admin).
  const broad = new Set<string>();
  const everywhere = new Set<string>();
  for (const s of statements) {
    if (!s.allow || s.principals !== null || s.notResource) continue;
    if (!s.resources.some(isBroadResource)) continue;
    const all = s.resources.some(isEveryResource);
    for (const a of grantedActions(s, catalogue)) {
      broad.add(a);
      if (all) everywhere.add(a);
    }
  }
  for (const s of statements) {
    if (s.allow || s.conditions.length || s.notResource || !s.resources.some(isEveryResource)) continue;
    for (const a of grantedActions(s, catalogue)) {
      broad.delete(a);
      everywhere.delete(a);
    }
  }
  const has = (a: string): boolean => broad.has(catalogue.get(a.split(':')[0] as string, a.split(':')[1] as string)?.key ?? a);
  const admin = CORE_SERVICES.every((svc) => catalogue.ofService(svc).every((a) => everywhere.has(a.key)));
  const escalation = ESCALATION_PATHS.filter((p) => p.needs.every((group) => group.some(has))).map((p) => p.name);
  const exfiltration = EXFILTRATION_ACTIONS.filter(has);
  return { admin, escalation, exfiltration, broad };
}

function grantedActions(s: AnalysisStatement, catalogue: IamCatalogue): string[] {
  if (!s.notAction) return s.actions.flatMap((a) => catalogue.expand(a).map((x) => x.key));
  const excluded = new Set(s.actions.flatMap((a) => catalogue.expand(a).map((x) => x.key)));
  return catalogue.actions.filter((a) => !excluded.has(a.key)).map((a) => a.key);
}
