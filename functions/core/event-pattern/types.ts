/** The shapes a compiled event pattern is made of, shared by the compiler, the operators and the matcher. */

/** A JSON leaf of an event: the only thing a pattern value is compared with. */
type Leaf = string | number | boolean | null;

/** Keys and array indexes from the pattern root to a place in the pattern, for error messages. */
type JsonPath = readonly (string | number)[];

/** An inclusive range of IP addresses as fixed-width upper-case hex (8 digits for IPv4, 32 for IPv6). */
interface IpRange {
  readonly bottom: string;
  readonly top: string;
}

/** A wildcard operand, parsed: the literal text between unescaped stars, and its UTF-8 bytes for the complexity check. */
interface Wildcard {
  readonly segments: readonly string[];
  readonly tokens: readonly number[];
}

/** The wildcards of one pattern value, kept to measure how non-deterministic a field's matcher becomes. */
interface WildcardTerm {
  readonly identity: string;
  readonly wildcards: readonly Wildcard[];
}

/** `folded` is the value with only A-Z lower-cased (see foldAscii), computed once per value when needed. */
type StringTest = (value: string, folded: string) => boolean;
type NumberTest = (value: number) => boolean;
type LeafTest = (value: Leaf, folded: string) => boolean;

/** One value of a field's array, compiled. A field matches a leaf when any of its conditions does. */
type Condition =
  | { readonly kind: 'exact'; readonly value: Leaf }
  | { readonly kind: 'ip'; readonly hex: string }
  | { readonly kind: 'ip-range'; readonly range: IpRange }
  | { readonly kind: 'ignore-case'; readonly folded: string }
  | { readonly kind: 'string'; readonly needsFold: boolean; readonly test: StringTest }
  | { readonly kind: 'number'; readonly test: NumberTest }
  | { readonly kind: 'leaf'; readonly needsFold: boolean; readonly test: LeafTest }
  | { readonly kind: 'exists'; readonly present: boolean };

/** A pattern value compiled, with its wildcard term if it has one. */
interface CompiledValue {
  readonly condition: Condition;
  readonly wildcard?: WildcardTerm;
}

/** Decides one leaf for one field, and whether the field may be absent. */
interface FieldMatcher {
  readonly test: (value: Leaf) => boolean;
  readonly allowsAbsent: boolean;
}

/** One field of the pattern: its dotted path, where it was written, and its compiled values. */
interface FieldSpec {
  readonly path: string;
  readonly at: JsonPath;
  readonly matcher: FieldMatcher;
  readonly wildcards: readonly WildcardTerm[];
}

/** One alternative of the pattern after `$or` is expanded: dotted path → field. */
type Branch = Map<string, FieldSpec>;

export type {
  Branch,
  CompiledValue,
  Condition,
  FieldMatcher,
  FieldSpec,
  IpRange,
  JsonPath,
  Leaf,
  LeafTest,
  NumberTest,
  StringTest,
  Wildcard,
  WildcardTerm,
};
