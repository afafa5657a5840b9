import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/*
 * Every `@example` in functions/ compiles against the code it documents. Each example becomes a module
 * in a git-ignored folder inside the project (so tsconfig.json and node_modules apply) that imports
 * every name its source file exports and wraps the example in an async function. The example's own
 * `import` lines and `declare` statements (`declare const alert: Alert;`) are hoisted to the module's
 * top level; a relative import is resolved from the source file, as a reader of the source would.
 * All examples are type-checked in one program.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FUNCTIONS_DIR = join(ROOT, 'functions');
/** One folder per run: another run (or another clone's editor) may be checking examples at the same time. */
const EXAMPLES_DIR = join(ROOT, 'test', '.examples');
const OUT_DIR = join(EXAMPLES_DIR, `${process.pid}-${Date.now()}`);

interface Example {
  /** Relative to the project root: `functions/io/slack-webhook.ts`. */
  readonly file: string;
  /** 1-based line of the `@example` tag. */
  readonly line: number;
  readonly code: string;
}

/** The `@example` blocks of one source file, each up to the next tag or the end of its comment. */
const examplesOf = (file: string, text: string): Example[] => {
  const examples: Example[] = [];
  for (const comment of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const firstLine = text.slice(0, comment.index).split('\n').length;
    const lines = comment[0]
      .replace(/^\/\*\*/, '')
      .replace(/\*\/$/, '')
      .split('\n')
      .map((line) => line.replace(/^\s*\* ?/, ''));
    let current: { line: number; code: string[] } | undefined;
    const flush = () => {
      if (current) examples.push({ file, line: current.line, code: current.code.join('\n').trim() });
      current = undefined;
    };
    for (const [index, line] of lines.entries()) {
      const tag = /^\s*@(\w+)\s?(.*)$/.exec(line);
      if (tag) {
        flush();
        if (tag[1] === 'example') current = { line: firstLine + index, code: [tag[2] ?? ''] };
      } else if (current && !/^\s*```\w*\s*$/.test(line)) {
        current.code.push(line);
      }
    }
    flush();
  }
  return examples;
};

const sourceFiles = readdirSync(FUNCTIONS_DIR, { recursive: true, encoding: 'utf8' })
  .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
  .map((name) => join(FUNCTIONS_DIR, name))
  .sort();

const examples = sourceFiles.flatMap((path) => examplesOf(relative(ROOT, path), readFileSync(path, 'utf8')));

/** Names a module exports, the types among them marked `type ` (verbatimModuleSyntax needs it). */
const importSpecifiersOf = (path: string): string[] => {
  const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest);
  const names: string[] = [];
  const isExported = (node: ts.Node) =>
    ts.canHaveModifiers(node) && ts.getModifiers(node)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause && ts.isNamedExports(statement.exportClause)) {
      for (const element of statement.exportClause.elements) {
        const typeOnly = statement.isTypeOnly || element.isTypeOnly;
        names.push(`${typeOnly ? 'type ' : ''}${element.name.text}`);
      }
    } else if (isExported(statement)) {
      const typeOnly = ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement);
      const declared = ts.isVariableStatement(statement)
        ? statement.declarationList.declarations.map((d) => d.name.getText(source))
        : [(statement as ts.DeclarationStatement).name?.getText(source) ?? 'default'];
      names.push(...declared.map((name) => `${typeOnly ? 'type ' : ''}${name}`));
    }
  }
  return names;
};

/** `../a/b.js` for an import from `from` (a file) to `to` (a file), always starting with `.`. */
const specifierFrom = (from: string, to: string): string => {
  const path = relative(dirname(from), to).replaceAll('\\', '/').replace(/\.ts$/, '.js');
  return path.startsWith('.') ? path : `./${path}`;
};

/** The module checked for one example, written to `modulePath`. */
const moduleOf = (example: Example, modulePath: string): string => {
  const sourcePath = join(ROOT, example.file);
  const parsed = ts.createSourceFile('example.ts', example.code, ts.ScriptTarget.Latest, true);
  const hoisted: string[] = [];
  const body: string[] = [];
  for (const statement of parsed.statements) {
    const text = statement.getFullText(parsed).replace(/^\n+/, '');
    if (ts.isImportDeclaration(statement) && ts.isStringLiteral(statement.moduleSpecifier)) {
      const specifier = statement.moduleSpecifier.text;
      const rewritten = specifier.startsWith('.')
        ? specifierFrom(modulePath, resolve(dirname(sourcePath), specifier.replace(/\.js$/, '.ts')))
        : specifier;
      hoisted.push(text.replace(statement.moduleSpecifier.getText(parsed), `'${rewritten}'`));
    } else if (
      ts.canHaveModifiers(statement) &&
      ts.getModifiers(statement)?.some((m) => m.kind === ts.SyntaxKind.DeclareKeyword)
    ) {
      hoisted.push(text);
    } else {
      body.push(text);
    }
  }
  const names = importSpecifiersOf(sourcePath);
  const head = [
    `// ${example.file}:${example.line}`,
    `import { ${names.join(', ')} } from '${specifierFrom(modulePath, sourcePath)}';`,
    ...hoisted,
    'export async function example(): Promise<void> {',
  ];
  return [...head, ...body, '}', ''].join('\n');
};

const diagnosticsByExample = new Map<Example, string[]>();

beforeAll(() => {
  mkdirSync(OUT_DIR, { recursive: true });
  const modules = examples.map((example, index) => {
    const path = join(OUT_DIR, `${example.file.replaceAll('/', '__').replace(/\.ts$/, '')}-${index}.ts`);
    writeFileSync(path, moduleOf(example, path));
    return { example, path };
  });

  const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
  const program = ts.createProgram(
    modules.map((module) => module.path),
    { ...options, noUnusedLocals: false, noUnusedParameters: false },
  );
  const format = (diagnostic: ts.Diagnostic): string => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!diagnostic.file || diagnostic.start === undefined) return message;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    return `${diagnostic.file.text.split('\n')[line]?.trim()}\n  ${message}`;
  };
  for (const { example, path } of modules) {
    const file = program.getSourceFile(path);
    if (!file) {
      diagnosticsByExample.set(example, [`${path} is not in the program`]);
      continue;
    }
    const diagnostics = [...program.getSyntacticDiagnostics(file), ...program.getSemanticDiagnostics(file)];
    diagnosticsByExample.set(example, diagnostics.map(format));
  }
}, 60_000);

afterAll(() => {
  rmSync(OUT_DIR, { recursive: true, force: true });
  try {
    rmdirSync(EXAMPLES_DIR); // only when empty: another run may be using it
  } catch {}
});

describe('@example blocks in functions/', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  it.each(examples.map((example) => ({ name: `${example.file}:${example.line}`, example })))(
    '$name compiles',
    ({ example }) => {
      const problems = diagnosticsByExample.get(example);
      expect(example.code, `${example.file}:${example.line} is an empty @example`).not.toBe('');
      expect(problems, `${example.file}:${example.line} does not compile:\n${example.code}`).toEqual([]);
    },
  );
});
