/** Case-insensitive text: ASCII folding and the equals-ignore-case comparisons (whole, prefix, suffix). */

const NON_ASCII = /[\u0080-\uffff]/;

/** Lower-cases A-Z only, so a non-ASCII character (the Kelvin sign, say) never passes for an ASCII letter. */
const foldAscii = (text: string): string =>
  NON_ASCII.test(text) ? text.replace(/[A-Z]+/g, (run) => run.toLowerCase()) : text.toLowerCase();

/**
 * An equals-ignore-case operand. EventBridge accepts, at each operand character, that character's
 * lower-case or upper-case form (so "ß" matches "SS", and nothing folds the value). For an ASCII
 * operand that is equality after foldAscii, which the matcher does with a Set; other operands keep
 * the alternatives and are walked.
 */
interface CaseInsensitiveText {
  readonly folded: string | undefined;
  readonly alternatives: readonly (readonly string[])[];
}

/** Reads an equals-ignore-case operand: its ASCII-folded form when it is ASCII, and each character's alternatives. */
const caseInsensitive = (operand: string): CaseInsensitiveText => ({
  folded: NON_ASCII.test(operand) ? undefined : operand.toLowerCase(),
  alternatives: Array.from(operand, (char) => {
    const lower = char.toLowerCase();
    const upper = char.toUpperCase();
    return lower === upper ? [lower] : [lower, upper];
  }),
});

/**
 * The offsets of `value` at which the operand's alternatives can end, reading forwards from the start
 * (or backwards from the end). A set, because alternatives differ in length ("ß" against "SS").
 */
const caseInsensitiveReach = (
  value: string,
  { alternatives }: CaseInsensitiveText,
  backwards: boolean,
): Set<number> => {
  let reachable = new Set([backwards ? value.length : 0]);
  const steps = backwards ? [...alternatives].reverse() : alternatives;
  for (const options of steps) {
    const next = new Set<number>();
    for (const offset of reachable) {
      for (const option of options) {
        const start = backwards ? offset - option.length : offset;
        if (start >= 0 && value.startsWith(option, start)) next.add(backwards ? start : offset + option.length);
      }
    }
    if (next.size === 0) return next;
    reachable = next;
  }
  return reachable;
};

/** Whether `value` (`folded` is its foldAscii form) is the operand, each character in either case. */
const equalsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded === text.folded : caseInsensitiveReach(value, text, false).has(value.length);

/** Whether `value` (`folded` is its foldAscii form) starts with the operand, each character in either case. */
const startsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded.startsWith(text.folded) : caseInsensitiveReach(value, text, false).size > 0;

/** Whether `value` (`folded` is its foldAscii form) ends with the operand, each character in either case. */
const endsIgnoringCase = (value: string, folded: string, text: CaseInsensitiveText): boolean =>
  text.folded !== undefined ? folded.endsWith(text.folded) : caseInsensitiveReach(value, text, true).size > 0;

export type { CaseInsensitiveText };
export { caseInsensitive, endsIgnoringCase, equalsIgnoringCase, foldAscii, startsIgnoringCase };
