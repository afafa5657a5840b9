/**
 * MITRE ATT&CK (Enterprise) techniques a detection can be tagged with, in Sigma's tag form
 * (`attack.t1078.004`). Only technique ids: no tactics, groups or software.
 */

/**
 * The techniques the catalog uses or plausibly will use (cloud, IaaS), id → name as MITRE spells it
 * ("Technique: Sub-technique"). Checked against attack.mitre.org; add a row before tagging a detection
 * with a technique that is not here, and check its id and name there first.
 */
const ATTACK_TECHNIQUES = {
  'T1078.004': 'Valid Accounts: Cloud Accounts',
  'T1087.004': 'Account Discovery: Cloud Account',
  T1098: 'Account Manipulation',
  'T1098.001': 'Account Manipulation: Additional Cloud Credentials',
  'T1098.003': 'Account Manipulation: Additional Cloud Roles',
  'T1110.001': 'Brute Force: Password Guessing',
  'T1136.003': 'Create Account: Cloud Account',
  'T1484.002': 'Domain or Tenant Policy Modification: Trust Modification',
  T1531: 'Account Access Removal',
  'T1548.005': 'Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access',
  'T1556.006': 'Modify Authentication Process: Multi-Factor Authentication',
  'T1562.001': 'Impair Defenses: Disable or Modify Tools',
  'T1562.008': 'Impair Defenses: Disable or Modify Cloud Logs',
  T1580: 'Cloud Infrastructure Discovery',
  T1666: 'Modify Cloud Resource Hierarchy',
} as const satisfies Record<string, string>;

type AttackTechniqueId = keyof typeof ATTACK_TECHNIQUES;

interface AttackTechnique {
  /** As MITRE writes it: `T1078.004`. */
  readonly id: AttackTechniqueId;
  readonly name: string;
  /** The page on attack.mitre.org. */
  readonly url: string;
}

/** Sigma's form of a technique tag: `attack.tNNNN` or `attack.tNNNN.NNN`, lower case. */
const ATTACK_TAG_PATTERN = /^attack\.t\d{4}(\.\d{3})?$/;

const isTechniqueId = (id: string): id is AttackTechniqueId => Object.hasOwn(ATTACK_TECHNIQUES, id);

/** The tag for a technique id: `T1078.004` → `attack.t1078.004`. */
const attackTagOf = (id: AttackTechniqueId): string => `attack.${id.toLowerCase()}`;

/**
 * The technique a tag names, or undefined when the tag is not in Sigma's form or names a technique
 * missing from {@link ATTACK_TECHNIQUES}.
 */
const findAttackTechnique = (tag: string): AttackTechnique | undefined => {
  if (!ATTACK_TAG_PATTERN.test(tag)) return undefined;
  const id = tag.slice('attack.'.length).toUpperCase();
  if (!isTechniqueId(id)) return undefined;
  return { id, name: ATTACK_TECHNIQUES[id], url: `https://attack.mitre.org/techniques/${id.replace('.', '/')}/` };
};

/**
 * The ATT&CK tags of an alert: the union of its matched detections' tags, in a stable order. Pass the
 * tag lists in the order the detections are listed (most severe first); the first detection's tags
 * come first, then each later detection's new tags in its own order, each tag once.
 *
 * @example
 * mergeAttackTags([['attack.t1098.001', 'attack.t1078.004'], ['attack.t1078.004']])
 * // → ['attack.t1098.001', 'attack.t1078.004']
 */
const mergeAttackTags = (tagLists: Iterable<readonly string[]>): string[] => {
  const merged = new Set<string>();
  for (const tags of tagLists) for (const tag of tags) merged.add(tag);
  return [...merged];
};

export type { AttackTechniqueId };
export { ATTACK_TAG_PATTERN, ATTACK_TECHNIQUES, attackTagOf, findAttackTechnique, mergeAttackTags };
