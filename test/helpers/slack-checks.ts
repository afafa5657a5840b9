import { expect } from 'vitest';
import { SLACK_LIMITS, type SlackMessage } from '../../functions/core/render/slack.js';

/*
 * Checks every rendered Slack message must pass, an alert's or a digest's: Slack's Block Kit limits, and nothing
 * from the input acting as markup.
 */

/** Every string in the payload that Slack displays (not the button URLs, which Slack never parses as text). */
const displayedStrings = (value: unknown, key = ''): string[] => {
  if (typeof value === 'string') return key === 'url' ? [] : [value];
  if (Array.isArray(value)) return value.flatMap((item) => displayedStrings(item));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([k, item]) => displayedStrings(item, k));
  }
  return [];
};

const mrkdwnTexts = (message: SlackMessage): string[] => {
  const texts: string[] = [];
  for (const block of message.blocks) {
    const b = block as { text?: { type: string; text: string }; fields?: { text: string }[]; elements?: unknown[] };
    if (b.text?.type === 'mrkdwn') texts.push(b.text.text);
    for (const field of b.fields ?? []) texts.push(field.text);
    if (block.type === 'context') for (const element of b.elements as { text: string }[]) texts.push(element.text);
  }
  return texts;
};

/** Slack's Block Kit limits, counted in UTF-16 units (at least as many as Slack's characters). */
const expectWithinSlackLimits = (message: SlackMessage): void => {
  expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  const actionIds: string[] = [];
  for (const block of message.blocks) {
    const b = block as {
      text?: { text: string };
      fields?: { text: string }[];
      elements?: { text: { text: string } | string; url?: string; action_id?: string }[];
    };
    if (block.type === 'header') expect(b.text?.text.length).toBeLessThanOrEqual(SLACK_LIMITS.header);
    if (block.type === 'section') {
      expect(b.text?.text.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      expect(b.fields?.length ?? 0).toBeLessThanOrEqual(SLACK_LIMITS.fields);
      for (const field of b.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(SLACK_LIMITS.field);
    }
    if (block.type === 'context') {
      expect(b.elements?.length).toBeLessThanOrEqual(10);
      for (const element of b.elements ?? []) {
        expect((element as unknown as { text: string }).text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      }
    }
    if (block.type === 'actions') {
      for (const button of b.elements ?? []) {
        expect((button.text as { text: string }).text.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonText);
        expect(button.url?.length).toBeLessThanOrEqual(SLACK_LIMITS.buttonUrl);
        expect(button.url).toMatch(/^https:\/\//);
        actionIds.push(button.action_id ?? '');
      }
    }
  }
  expect(new Set(actionIds).size).toBe(actionIds.length);
};

/** C0 and C1 control characters other than the line feed our own "*Label*\n" uses. */
const controlCharactersIn = (text: string): number[] =>
  [...text]
    .map((char) => char.codePointAt(0) ?? 0)
    .filter((code) => code !== 0x0a && (code < 0x20 || (code >= 0x7f && code <= 0x9f)));

/** Nothing the input said can act as Slack markup, notify, add a line or open a code block. */
const expectInert = (message: SlackMessage): void => {
  const json = JSON.stringify(message);
  expect(json).not.toContain('<!');
  expect(json).not.toMatch(/@(channel|here|everyone)/i);
  expect(json).not.toContain('```');
  expect(json).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/);
  for (const text of displayedStrings(message)) {
    expect(text).not.toMatch(/[<>]/);
    expect(controlCharactersIn(text)).toEqual([]);
  }
  expect(message.text).not.toContain('\n');
  for (const text of mrkdwnTexts(message)) {
    // Back-ticks only as our delimiters: removing the code spans leaves none.
    expect(text.replace(/`[^`\n]*`/g, '')).not.toContain('`');
  }
  // The facts: the second block of an alert's and of a digest's message.
  const [, facts] = message.blocks as [unknown, { fields: { text: string }[] }];
  for (const field of facts.fields) {
    // "*Label*\nvalue": one line for the label, one for the value, whatever the value held.
    expect(field.text.split('\n')).toHaveLength(2);
    expect(field.text).toMatch(/^\*[A-Za-z ]+\*\n/);
  }
};

export { displayedStrings, expectInert, expectWithinSlackLimits, mrkdwnTexts };
