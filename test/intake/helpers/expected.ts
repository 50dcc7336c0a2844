// What the shipped policy must make of particular records, written down by hand (not computed by the policy), so
// intake tests that run the production judge have an oracle of their own. Only records whose fate is not a matter of
// tuning: successful changes the risky-changes catalogue lists (each must start a review, whatever its tier) and
// read-only calls (README: "read-only calls are ignored"). Failed calls, notices and borderline changes are left out
// of the inputs, so a retuned threshold does not move these expectations.
import { loadRecords, type Rec } from './records';

export interface Pinned {
  eventId: string;
  eventName: string;
  /** Why the catalogue (or the README) decides this record. */
  why: string;
}

/** Invictus hour (../shared/data/cloudtrail/invictus-aws-dataset): successful risky changes. */
const INVICTUS_REVIEWED: Pinned[] = [
  { eventId: '74bd84b4-6729-4895-b2a4-e2beb7c6b377', eventName: 'AuthorizeSecurityGroupIngress', why: 'security group opened to the world on an admin port' },
  { eventId: '7e96f0e7-4d78-423d-b3f5-391370685b30', eventName: 'AuthorizeSecurityGroupIngress', why: 'security group opened to the world' },
  { eventId: '8fe3095f-909c-41f5-a769-00b9ec6e95df', eventName: 'ModifyImageAttribute', why: 'AMI shared with another account' },
  { eventId: '741616fd-4713-426d-8861-3ccae4ba994e', eventName: 'ModifySnapshotAttribute', why: 'EBS snapshot shared' },
  { eventId: '2d19ab1e-82e9-4302-ad10-a405b50c8d49', eventName: 'ModifyDBSnapshotAttribute', why: 'RDS snapshot shared' },
  { eventId: 'b1f37249-bb39-4b9c-a302-e6d0f807d70c', eventName: 'AddPermission20150331v2', why: 'Lambda function opened to another principal' },
  { eventId: 'd58cf935-0194-41d0-baa0-9efc030ce2e6', eventName: 'PutBucketPolicy', why: 'bucket policy granting a foreign account' },
  { eventId: '493e08b7-63e4-49a4-832a-1a7598ce78e5', eventName: 'AttachRolePolicy', why: 'admin policy attached to a role' },
  { eventId: 'f4923a37-92d5-4dfd-9786-6caef2b5f33c', eventName: 'AttachUserPolicy', why: 'admin policy attached to a user' },
  { eventId: '64b7de64-bf53-47ae-b7e3-d30cb1b5136e', eventName: 'CreateAccessKey', why: 'access key created for another user' },
  { eventId: '8c282c0b-00d1-4369-95b7-cb50b6eee620', eventName: 'CreateAccessKey', why: 'access key created for another user' },
  { eventId: 'd96d75c7-e715-44ff-9735-9dc51afbd774', eventName: 'UpdateAssumeRolePolicy', why: 'role trust policy opened' },
  { eventId: 'fcec2e46-3cc3-4ac2-8144-3674f06990e4', eventName: 'DeleteTrail', why: 'CloudTrail trail deleted' },
  { eventId: 'c0057a42-1625-4b1d-9db5-352f931f790a', eventName: 'DeleteTrail', why: 'CloudTrail trail deleted' },
  { eventId: '076e96d5-2983-473f-920a-2fc2d7e02777', eventName: 'PutEventSelectors', why: 'CloudTrail event selectors narrowed' },
  { eventId: 'de58d903-38d7-4f30-a84b-b79d858e8376', eventName: 'DeleteFlowLogs', why: 'VPC flow logs deleted' },
  { eventId: '349b65f9-1932-4258-a52e-476cf4fcf6d7', eventName: 'DeleteLogGroup', why: 'log group deleted' },
];

/** Invictus hour: read-only calls (README: read-only calls are ignored). */
const INVICTUS_IGNORED: Pinned[] = [
  { eventId: '293ba626-3be5-4a26-ab1b-0f4c54f49959', eventName: 'GetStorageLensConfiguration', why: 'read-only' },
  { eventId: '3c856bc0-1a07-4c18-89d9-4d9205856714', eventName: 'GetBucketPublicAccessBlock', why: 'read-only' },
  { eventId: 'aeeaa143-69ff-47d3-9d62-8356f01e9a8c', eventName: 'GetBucketPolicyStatus', why: 'read-only' },
  { eventId: 'd9a07e9d-28ac-45d9-b8ef-43433808f2f0', eventName: 'GetBucketAcl', why: 'read-only' },
  { eventId: '81e8970d-af59-4d11-8541-4d7c91ed8d4a', eventName: 'ListAccessPoints', why: 'read-only' },
  { eventId: '8b0a92b6-4868-4090-a6aa-d8f4d618c9d4', eventName: 'ListNotificationHubs', why: 'read-only' },
  { eventId: '1f07ad67-b44f-4f8f-87b4-3bcf4d2fdb46', eventName: 'GetBucketLocation', why: 'read-only' },
  { eventId: 'b89b5aad-a778-47ab-a9bf-9cb0842f81b5', eventName: 'GetBucketLogging', why: 'read-only' },
  { eventId: '4a81a319-3f88-4f76-a01d-4f206b7e1c0d', eventName: 'ListUsers', why: 'read-only' },
  { eventId: '2bc34359-3da6-47f3-aa38-f53989696988', eventName: 'GetAccountSummary', why: 'read-only' },
  { eventId: '7ab75daa-659a-45e4-b43b-ea90a9cf2f6a', eventName: 'GetAccountAuthorizationDetails', why: 'read-only' },
  { eventId: 'b29fbfda-cd70-40c0-86d8-529d8f653638', eventName: 'ListHostedZones', why: 'read-only' },
  { eventId: 'c20d93d2-87e1-483d-9c6c-9cdfc35671d4', eventName: 'GetBucketPolicy', why: 'read-only' },
  { eventId: '875240ac-e821-4fc6-a311-8c352a1d20f5', eventName: 'GetRegionOptStatus', why: 'read-only' },
];

/** test/intake/fixtures/records.json: the hand-written records (used without ../shared, and by the files test). */
export const FIXTURE_REVIEWED: Pinned[] = [
  { eventId: 'f1x70e00-0000-4000-8000-000000000000', eventName: 'AuthorizeSecurityGroupIngress', why: 'security group opened to the world' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000002', eventName: 'StopLogging', why: 'CloudTrail logging stopped' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000004', eventName: 'AttachUserPolicy', why: 'admin policy attached to a user' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000006', eventName: 'PutBucketPolicy', why: 'bucket policy opened' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000008', eventName: 'DeleteDetector', why: 'GuardDuty detector deleted' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000009', eventName: 'AddPermission20150331v2', why: 'Lambda function opened' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000011', eventName: 'ScheduleKeyDeletion', why: 'KMS key deletion scheduled' },
];

export const FIXTURE_IGNORED: Pinned[] = [
  { eventId: 'f1x70e00-0000-4000-8000-000000000001', eventName: 'DescribeSecurityGroups', why: 'read-only' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000007', eventName: 'ListBuckets', why: 'read-only' },
  { eventId: 'f1x70e00-0000-4000-8000-000000000010', eventName: 'DescribeInstances', why: 'read-only' },
];

export interface PinnedSet {
  /** Records that must each start one review under the shipped policy. */
  reviewed: Rec[];
  /** Records the shipped policy must ignore. */
  ignored: Rec[];
}

function pick(records: Rec[], pinned: Pinned[]): Rec[] {
  const byId = new Map(records.map((r) => [String(r.eventID), r]));
  return pinned.map((p) => {
    const r = byId.get(p.eventId);
    if (!r) throw new Error(`pinned record ${p.eventId} (${p.eventName}) is not in the data`);
    if (r.eventName !== p.eventName) throw new Error(`pinned record ${p.eventId} is ${String(r.eventName)}, not ${p.eventName}`);
    return r;
  });
}

/** The pinned records of the data loadRecords() serves (the Invictus hour, or the fixtures without ../shared). */
export function pinnedRecords(): PinnedSet {
  const { records, origin } = loadRecords();
  return origin === 'shared'
    ? { reviewed: pick(records, INVICTUS_REVIEWED), ignored: pick(records, INVICTUS_IGNORED) }
    : { reviewed: pick(records, FIXTURE_REVIEWED), ignored: pick(records, FIXTURE_IGNORED) };
}

/** The pinned fixture records (test/intake/fixtures/records.json), whatever ../shared holds. */
export function pinnedFixtures(records: Rec[]): PinnedSet {
  return { reviewed: pick(records, FIXTURE_REVIEWED), ignored: pick(records, FIXTURE_IGNORED) };
}
