// Small pure text helpers shared by the activities, the sandbox and reports (deterministic; no Node builtins).

/** Cut `text` to at most `max` UTF-16 units, ending with an ellipsis when cut, never splitting a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

// isRecord lives in records.ts; kept here for importers outside the intake and policy rooms (src/revert, activities/).
export { isRecord } from './records';
