import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cleanLine,
  escapeJsonForXml,
  isXmlChar,
  replaceNonXmlChars,
  toXmlSafeJson,
} from '../../functions/core/render/text.js';

/** XML 1.0's Char production, as SQS SendMessage and SNS Publish state it. */
const allowed = (code: number): boolean =>
  code === 0x9 ||
  code === 0xa ||
  code === 0xd ||
  (code >= 0x20 && code <= 0xd7ff) ||
  (code >= 0xe000 && code <= 0xfffd) ||
  (code >= 0x10000 && code <= 0x10ffff);

/** Characters SQS and SNS refuse, and some they accept that sit next to them. */
const REFUSED = ['\u0000', '\u0008', '\u000b', '\u001f', '\ud800', '\udfff', '\ufffe', '\uffff'];
const ACCEPTED = ['\t', '\n', '\r', ' ', '\ud7ff', '\ue000', '\ufffd', '😀', '\u{10ffff}', 'é', 'ж'];

const everyCodePointOf = (text: string): number[] => {
  const codes: number[] = [];
  // By code unit pairs, so that a lone surrogate is seen as itself.
  for (let i = 0; i < text.length; i += 1) {
    const code = text.codePointAt(i) ?? 0;
    codes.push(code);
    if (code > 0xffff) i += 1;
  }
  return codes;
};

describe('isXmlChar', () => {
  it('agrees with the Char production on the edges of every range', () => {
    for (const code of [0, 8, 9, 10, 11, 13, 14, 0x1f, 0x20, 0xd7ff, 0xd800, 0xdfff, 0xe000, 0xfffd, 0xfffe, 0xffff]) {
      expect(isXmlChar(code), code.toString(16)).toBe(allowed(code));
    }
    for (const code of [0x10000, 0x1f600, 0x10ffff, 0x110000]) expect(isXmlChar(code)).toBe(allowed(code));
  });
});

describe('replaceNonXmlChars', () => {
  const hex = (char: string) => (char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');

  it.each(REFUSED.map((char) => [hex(char), char]))('replaces U+%s with U+FFFD', (_, char) => {
    expect(replaceNonXmlChars(`a${char}b`)).toBe('a\ufffdb');
  });

  it.each(ACCEPTED.map((char) => [hex(char), char]))('keeps U+%s', (_, char) => {
    expect(replaceNonXmlChars(`a${char}b`)).toBe(`a${char}b`);
  });
});

describe('escapeJsonForXml and toXmlSafeJson', () => {
  const hostile = {
    userAgent: `curl ${REFUSED.join('')} ${ACCEPTED.join('')}`,
    'key\uffff': ['\ud83d', '\ude00', '😀'],
  };

  it('leaves nothing SQS or SNS refuses in the JSON text', () => {
    const text = toXmlSafeJson(hostile);
    expect(everyCodePointOf(text).filter((code) => !allowed(code))).toEqual([]);
    expect(text).toContain('\\uffff');
  });

  it('parses back to the very same value', () => {
    expect(JSON.parse(toXmlSafeJson(hostile))).toStrictEqual(hostile);
  });

  it('leaves JSON without such characters as it is, but for characters beyond the BMP', () => {
    expect(escapeJsonForXml('{"a":"é\\n ж"}')).toBe('{"a":"é\\n ж"}');
    expect(escapeJsonForXml('{"a":"😀"}')).toBe('{"a":"\\ud83d\\ude00"}');
  });
});

describe('cleanLine', () => {
  it('replaces U+FFFF, U+FFFE and lone surrogates, keeping emoji', () => {
    expect(cleanLine('a\uffff\ufffe\ud800😀')).toBe('a\ufffd\ufffd\ufffd😀');
  });

  it('leaves a value holding none of the characters it changes as it is, and changes every one of them (fast-check)', () => {
    // Every unit it changes, one at a time amid plain text: each must change the line (its fast path must not skip it).
    const changed = [
      ...Array.from({ length: 0x20 }, (_, code) => code),
      ...Array.from({ length: 0x21 }, (_, k) => 0x7f + k),
      0x061c,
      0x200e,
      0x200f,
      0x2028,
      0x2029,
      0x202a,
      0x202e,
      0x2066,
      0x2069,
      0xd800,
      0xdfff,
      0xfffe,
      0xffff,
    ];
    for (const code of changed)
      expect(cleanLine(`ab${String.fromCharCode(code)}cd`), code.toString(16)).not.toBe(
        `ab${String.fromCharCode(code)}cd`,
      );
    // And the line is what a character-by-character reading gives: the same as before the fast path, on any text.
    const reference = (value: string): string => {
      let out = '';
      let previous = 0;
      for (const char of value) {
        const code = char.codePointAt(0) ?? 0;
        const crlf = code === 0x0a && previous === 0x0d;
        previous = code;
        const bidi =
          (code >= 0x202a && code <= 0x202e) ||
          (code >= 0x2066 && code <= 0x2069) ||
          [0x200e, 0x200f, 0x061c].includes(code);
        if (crlf || bidi) continue;
        if ([0x0a, 0x0d, 0x85, 0x2028, 0x2029].includes(code)) out += ' ⏎ ';
        else if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) out += ' ';
        else if ((code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff) out += '\ufffd';
        else out += char;
      }
      return out;
    };
    const unit = fc.oneof(
      fc.string({ unit: 'grapheme', maxLength: 3 }),
      fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      fc.constantFrom('\r\n', '\u202e', '\ud83d\ude00', '\ufeff', 'é'),
    );
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }), (units) => {
        const value = units.join('');
        expect(cleanLine(value)).toBe(reference(value));
      }),
      { numRuns: 3000 },
    );
  });
});
