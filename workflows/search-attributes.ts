// Search attributes that let security find reviews in the Temporal Web UI. Registered by vouch itself:
// `--search-attribute` on the dev server, OperatorService.addSearchAttributes on a full server.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const VouchTier = defineSearchAttributeKey('VouchTier', SearchAttributeType.KEYWORD);
export const VouchOutcome = defineSearchAttributeKey('VouchOutcome', SearchAttributeType.KEYWORD);
export const VouchAccount = defineSearchAttributeKey('VouchAccount', SearchAttributeType.KEYWORD);
export const VouchActor = defineSearchAttributeKey('VouchActor', SearchAttributeType.KEYWORD);
export const VouchEventName = defineSearchAttributeKey('VouchEventName', SearchAttributeType.KEYWORD);
export const VouchRules = defineSearchAttributeKey('VouchRules', SearchAttributeType.KEYWORD_LIST);
export const VouchScore = defineSearchAttributeKey('VouchScore', SearchAttributeType.INT);
/** The review's one-line summary ("alice: sg-0abc opened to … in 111122223333/eu-west-1"), set once by the starter. */
export const VouchSummary = defineSearchAttributeKey('VouchSummary', SearchAttributeType.TEXT);

export const ALL_SEARCH_ATTRIBUTES = [
  VouchTier,
  VouchOutcome,
  VouchAccount,
  VouchActor,
  VouchEventName,
  VouchRules,
  VouchScore,
  VouchSummary,
] as const;

const CLI_TYPE_NAMES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.TEXT]: 'Text',
};

/** `--search-attribute Name=Type` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${CLI_TYPE_NAMES[k.type]}`]);
}

/** The typed search attributes of a review (set by the starter, refreshed by the workflow; VouchSummary is the starter's alone). */
export function reviewSearchAttributes(
  change: { account: string; eventName: string; actor: { name: string } },
  verdict: { tier: string; rules: string[]; score: number },
  outcome: string,
) {
  return [
    { key: VouchTier, value: verdict.tier },
    { key: VouchOutcome, value: outcome },
    { key: VouchAccount, value: change.account },
    { key: VouchActor, value: change.actor.name },
    { key: VouchEventName, value: change.eventName },
    { key: VouchRules, value: verdict.rules },
    { key: VouchScore, value: Math.round(verdict.score) },
  ];
}
