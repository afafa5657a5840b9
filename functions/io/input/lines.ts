import { StringDecoder } from 'node:string_decoder';
import { toError } from '../../errors.js';
import { describeFailure } from './bytes.js';
import { fromDocument, inputError } from './documents.js';
import type { InputItem } from './read-input.js';
import { JSON_LINES_FILE } from './sources.js';

/*
 * The text of an input as lines and JSON values: JSON Lines, one JSON document, or values one after
 * another; each value handed to documents.ts.
 */

/** Lines of a file read whole are handed on in batches of about this many characters, as if streamed. */
const LINE_BATCH_CHARS = 64 * 1024;
/**
 * A file whose first line is not a JSON value on its own is read whole, as one (pretty-printed)
 * document. Past this many characters it is taken to be JSON Lines with a bad first line, or refused.
 */
const MAX_DOCUMENT_CHARS = 256 * 1024 * 1024;

type Parsed = { ok: true; value: unknown } | { ok: false; message: string };

const isBlank = (line: string): boolean => line.trim() === '';

const parseJson = (text: string): Parsed => {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, message: toError(error).message };
  }
};

/**
 * Splits text holding JSON objects or arrays one after another, as `jq` prints them, into each
 * value's text and first line; undefined when the text is not such a sequence. An unterminated
 * last value is returned as is, for JSON.parse to report.
 */
const splitValues = (text: string): { line: number; text: string }[] | undefined => {
  const values: { line: number; text: string }[] = [];
  let depth = 0;
  let inString = false;
  let start = 0;
  let line = 1;
  let startLine = 1;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0x0a) line++;
    if (inString) {
      if (code === 0x5c) index++;
      else if (code === 0x22) inString = false;
    } else if (code === 0x7b || code === 0x5b) {
      if (depth === 0) {
        start = index;
        startLine = line;
      }
      depth++;
    } else if (depth === 0) {
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return undefined;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
      if (depth === 0) values.push({ line: startLine, text: text.slice(start, index + 1) });
    }
  }
  if (depth > 0) values.push({ line: startLine, text: text.slice(start) });
  return values;
};

/** The lines of UTF-8 bytes, one batch per chunk (possibly empty); a BOM is dropped. */
async function* lineBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let partial: string[] = [];
  let first = true;
  for await (const chunk of chunks) {
    let text = decoder.write(chunk);
    if (first && text !== '') {
      if (text.startsWith('\uFEFF')) text = text.slice(1);
      first = false;
    }
    const batch: string[] = [];
    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      partial.push(text.slice(start, newline));
      batch.push(partial.length === 1 ? (partial[0] as string) : partial.join(''));
      partial = [];
      start = newline + 1;
    }
    if (start < text.length) partial.push(text.slice(start));
    yield batch;
  }
  const last = partial.join('') + decoder.end();
  if (last !== '') yield [last];
}

/** The lines of a whole text, in batches of about LINE_BATCH_CHARS characters, split as lineBatches splits them. */
function* textLineBatches(text: string): Generator<string[]> {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  let batch: string[] = [];
  let chars = 0;
  let start = 0;
  for (let newline = body.indexOf('\n'); newline !== -1; newline = body.indexOf('\n', start)) {
    batch.push(body.slice(start, newline));
    chars += newline - start;
    start = newline + 1;
    if (chars >= LINE_BATCH_CHARS) {
      yield batch;
      batch = [];
      chars = 0;
    }
  }
  if (start < body.length) batch.push(body.slice(start));
  if (batch.length > 0) yield batch;
}

/**
 * The items of one file or stream, given as batches of its lines; one batch of items per batch of
 * lines that yields any, so that callers pay per batch rather than per record. Its shape is told
 * from its content: when the first non-blank line is a JSON value on its own and more non-blank
 * lines follow, it is JSON Lines, read line by line. Otherwise it is one JSON document (a CloudTrail
 * log file, single-line or pretty-printed) and is read whole; if that fails to parse, it is re-read
 * as JSON Lines with a bad first line (when its second non-blank line is a JSON value on its own) or
 * as JSON values one after another (`jq` output), else it is one error.
 */
async function* readLines(
  file: string,
  batches: AsyncIterable<string[]> | Iterable<string[]>,
  explicit: boolean,
  tick: () => void,
): AsyncGenerator<InputItem[]> {
  let mode: 'detect' | 'lines' | 'document' = 'detect';
  let lineNumber = 0;
  /** Every line so far, while the shape is not settled. */
  let held: string[] = [];
  let heldChars = 0;
  let first: (Parsed & { line: number }) | undefined;
  let secondParses = false;

  const fromLine = (line: string, number: number, out: InputItem[]): void => {
    if (isBlank(line)) return;
    const parsed = parseJson(line);
    if (parsed.ok) fromDocument(parsed.value, file, `line ${number}`, explicit, out);
    else out.push(inputError(file, `line ${number}`, `not valid JSON: ${parsed.message}`));
  };
  const fromHeldLines = (out: InputItem[]): void => {
    for (let index = 0; index < held.length; index++) fromLine(held[index] as string, index + 1, out);
    held = [];
  };

  try {
    for await (const batch of batches) {
      const out: InputItem[] = [];
      let refused = false;
      for (const line of batch) {
        lineNumber++;
        if (mode === 'lines') {
          fromLine(line, lineNumber, out);
          continue;
        }
        held.push(line);
        heldChars += line.length;
        if (isBlank(line)) continue;
        if (first === undefined) {
          first = { ...parseJson(line), line: lineNumber };
          continue;
        }
        if (mode === 'detect') {
          if (first.ok) {
            mode = 'lines';
            held = [];
            fromDocument(first.value, file, `line ${first.line}`, explicit, out);
            fromLine(line, lineNumber, out);
            continue;
          }
          mode = 'document';
          secondParses = parseJson(line).ok;
        }
        if (heldChars > MAX_DOCUMENT_CHARS) {
          if (!secondParses) {
            out.push(
              inputError(file, undefined, 'neither JSON Lines nor small enough (256 MiB) to read as one JSON document'),
            );
            refused = true;
            break;
          }
          mode = 'lines';
          fromHeldLines(out);
        }
      }
      if (out.length > 0) yield out;
      if (refused) return;
      tick();
    }
  } catch (error) {
    // Items already yielded stand; the error names where reading stopped.
    yield [inputError(file, mode === 'lines' ? `line ${lineNumber + 1}` : undefined, describeFailure(error), error)];
    return;
  }

  const out: InputItem[] = [];
  if (mode === 'detect') {
    // An empty or blank input holds no records: no items. A single non-blank line is one document.
    if (first === undefined) return;
    // It is the one line of a JSON Lines file when the name says so.
    const prefix = JSON_LINES_FILE.test(file) ? `line ${first.line}` : undefined;
    if (first.ok) fromDocument(first.value, file, prefix, explicit, out);
    else out.push(inputError(file, prefix, `not valid JSON: ${first.message}`));
  } else if (mode === 'document') {
    const text = held.join('\n');
    const parsed = parseJson(text);
    if (parsed.ok) {
      held = [];
      fromDocument(parsed.value, file, undefined, explicit, out);
    } else if (secondParses) {
      fromHeldLines(out);
    } else {
      held = [];
      const values = splitValues(text);
      if (values === undefined || values.length < 2) {
        out.push(inputError(file, undefined, `not valid JSON or JSON Lines: ${parsed.message}`));
      } else {
        for (const value of values) {
          const parsedValue = parseJson(value.text);
          if (parsedValue.ok) fromDocument(parsedValue.value, file, `line ${value.line}`, explicit, out);
          else out.push(inputError(file, `line ${value.line}`, `not valid JSON: ${parsedValue.message}`));
        }
      }
    }
  }
  if (out.length > 0) yield out;
}

export { lineBatches, readLines, textLineBatches };
