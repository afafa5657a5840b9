import { describe, expect, it } from 'vitest';
import {
  ATTACK_TAG_PATTERN,
  ATTACK_TECHNIQUES,
  type AttackTechniqueId,
  attackTagOf,
  findAttackTechnique,
  mergeAttackTags,
} from '../../functions/core/attack.js';

const ids = Object.keys(ATTACK_TECHNIQUES) as AttackTechniqueId[];

describe('ATTACK_TECHNIQUES', () => {
  it.each(ids)('%s is written as MITRE writes technique ids and named', (id) => {
    expect(id).toMatch(/^T\d{4}(\.\d{3})?$/);
    expect(ATTACK_TECHNIQUES[id].trim()).not.toBe('');
  });

  it('names a sub-technique after its technique ("Technique: Sub-technique")', () => {
    for (const id of ids) {
      const [parent, sub] = id.split('.');
      const parentName = ATTACK_TECHNIQUES[parent as AttackTechniqueId];
      if (sub && parentName) expect(ATTACK_TECHNIQUES[id]).toMatch(new RegExp(`^${parentName}: `));
    }
  });
});

describe('attackTagOf', () => {
  it.each(ids)('gives %s a tag in Sigma form that finds it again', (id) => {
    // Act
    const tag = attackTagOf(id);
    // Assess
    expect(tag).toMatch(ATTACK_TAG_PATTERN);
    expect(findAttackTechnique(tag)?.id).toBe(id);
  });
});

describe('findAttackTechnique', () => {
  it('finds a sub-technique with its name and page', () => {
    expect(findAttackTechnique('attack.t1078.004')).toStrictEqual({
      id: 'T1078.004',
      name: 'Valid Accounts: Cloud Accounts',
      url: 'https://attack.mitre.org/techniques/T1078/004/',
    });
  });

  it('finds a technique without sub-technique', () => {
    expect(findAttackTechnique('attack.t1531')).toStrictEqual({
      id: 'T1531',
      name: 'Account Access Removal',
      url: 'https://attack.mitre.org/techniques/T1531/',
    });
  });

  it.each([
    ['an unknown technique', 'attack.t9999'],
    ['an unknown sub-technique of a known technique', 'attack.t1078.999'],
    ['upper case', 'attack.T1078.004'],
    ['the bare id', 'T1078.004'],
    ['a tactic', 'attack.initial-access'],
    ['a two-digit sub-technique', 'attack.t1078.04'],
    ['trailing text', 'attack.t1078.004 '],
    ['a name inherited from Object', 'attack.constructor'],
  ])('finds nothing for %s (%j)', (_, tag) => {
    expect(findAttackTechnique(tag)).toBeUndefined();
  });
});

describe('mergeAttackTags', () => {
  it('puts the first detection tags first, then the new tags of each later one, each once', () => {
    // Prepare
    const lists = [
      ['attack.t1098.001', 'attack.t1078.004'],
      ['attack.t1078.004'],
      ['attack.t1531', 'attack.t1098.001', 'attack.t1098'],
    ];
    // Act
    const merged = mergeAttackTags(lists);
    // Assess
    expect(merged).toStrictEqual(['attack.t1098.001', 'attack.t1078.004', 'attack.t1531', 'attack.t1098']);
  });

  it('keeps the order a single detection gives', () => {
    expect(mergeAttackTags([['attack.t1562.008', 'attack.t1562.001']])).toStrictEqual([
      'attack.t1562.008',
      'attack.t1562.001',
    ]);
  });

  it('gives an empty list for no detections', () => {
    expect(mergeAttackTags([])).toStrictEqual([]);
  });

  it('does not change the lists it is given', () => {
    // Prepare
    const first = ['attack.t1078.004'];
    const second = ['attack.t1531'];
    // Act
    const merged = mergeAttackTags([first, second]);
    merged.push('attack.t1098');
    // Assess
    expect(first).toStrictEqual(['attack.t1078.004']);
    expect(second).toStrictEqual(['attack.t1531']);
  });
});
