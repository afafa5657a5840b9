'use strict';

/**
 * The alert function's IP data, written at packaging into .rootwatch/ip-data/ and shipped in its zip (serverless.yml:
 * the alert function's IP_DATA_DIR and package patterns), out of the code bundle:
 * - geo-whois-asn-country.mmdb: @ip-location-db/geo-whois-asn-country-mmdb's country database, as published (binary,
 *   read with mmdb-lib on the first public address);
 * - asn-ipv4.bin, asn-ipv6.bin: @ip-location-db/asn's asn-ipv4-num.csv and asn-ipv6-num.csv (32 MB of text, parsed on
 *   every cold start's first lookup) converted to the table the function holds in memory (functions/io/ip/asn-table.ts:
 *   parseAsnTable, then compactAsnTable, serializeAsnTable), so that loading one is a file read and typed-array views;
 *   adjacent ranges of one ASN merged and unrouted (AS0) ranges dropped, which changes no lookup's answer;
 * - licenses/: each package's package.json (its version) and licence files, and NOTICE.md: the data is CC BY 4.0
 *   (attribution to NRO, RouteViews and DB-IP), and the licence asks that changes be indicated.
 *
 * serverless.yml names it as a file variable source; the Serverless Framework (osls and v4) require()s it and calls
 * the exported function. CommonJS (`.cjs`) because package.json says "type": "module". It runs offline, in
 * `serverless package`, and skips the conversion when the folder was written from the same input files.
 */

const fs = require('node:fs');
const path = require('node:path');
const { register } = require('tsx/cjs/api');

const SERVICE_DIR = path.resolve(__dirname, '..');
/** The folder, relative to the service directory and so to the function's task root. */
const IP_DATA_DIR = '.rootwatch/ip-data';
/** Bumped when the output changes for the same input, so that a folder written before is rewritten. */
const FORMAT = 1;
const COUNTRY_PACKAGE = '@ip-location-db/geo-whois-asn-country-mmdb';
const ASN_PACKAGE = '@ip-location-db/asn';
const COUNTRY_FILE = 'geo-whois-asn-country.mmdb';
const LICENSE_FILES = {
  [COUNTRY_PACKAGE]: ['package.json', 'NRO_LICENSE'],
  [ASN_PACKAGE]: ['package.json', 'DBIP-LICENSE', 'NRO_LICENSE', 'ROUTEVIEWS-LICENSE', 'MODIFICATIONS'],
};

const packageDir = (name) => path.dirname(require.resolve(`${name}/package.json`, { paths: [SERVICE_DIR] }));

/** What the output is made from: each input file's size and modification time, and FORMAT. */
const inputsOf = () => {
  const files = [
    path.join(packageDir(COUNTRY_PACKAGE), COUNTRY_FILE),
    path.join(packageDir(ASN_PACKAGE), 'asn-ipv4-num.csv'),
    path.join(packageDir(ASN_PACKAGE), 'asn-ipv6-num.csv'),
    ...Object.entries(LICENSE_FILES).flatMap(([name, list]) => list.map((file) => path.join(packageDir(name), file))),
  ];
  return {
    format: FORMAT,
    files: files.map((file) => {
      const stat = fs.statSync(file);
      return { file: path.relative(SERVICE_DIR, file), bytes: stat.size, modified: stat.mtimeMs };
    }),
  };
};

const notice = (versions) => `# IP data shipped with the rootwatch alert function

Country: ${COUNTRY_PACKAGE} ${versions[COUNTRY_PACKAGE]} (${COUNTRY_FILE}, unchanged).
ASN: ${ASN_PACKAGE} ${versions[ASN_PACKAGE]} (asn-ipv4-num.csv and asn-ipv6-num.csv).

Both are licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/): see licenses/ for the attributions
(NRO, RouteViews, DB-IP) and the packages' own notes of their modifications.

Changes made by rootwatch: the ASN CSV files were converted to a binary table (asn-ipv4.bin, asn-ipv6.bin; format in
functions/io/ip/asn-table.ts of rootwatch), adjacent ranges of the same ASN merged and ranges of AS0 (not routed)
dropped. Every address maps to the same ASN and organisation as in the CSV files.
`;

/** Writes the folder (unless it is up to date) and returns its files' names. */
const writeIpData = () => {
  const outDir = path.join(SERVICE_DIR, IP_DATA_DIR);
  const manifestFile = path.join(outDir, 'inputs.json');
  const inputs = inputsOf();
  const written = fs.existsSync(manifestFile) ? fs.readFileSync(manifestFile, 'utf8') : '';
  if (written === `${JSON.stringify(inputs, null, 2)}\n`) return;

  const typescript = register({ namespace: 'rootwatch-ip-data' });
  const { compactAsnTable, parseAsnTable, serializeAsnTable } = typescript.require(
    '../functions/io/ip/asn-table.ts',
    __filename,
  );
  typescript.unregister();

  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  fs.copyFileSync(path.join(packageDir(COUNTRY_PACKAGE), COUNTRY_FILE), path.join(outDir, COUNTRY_FILE));
  for (const family of [4, 6]) {
    const csv = fs.readFileSync(path.join(packageDir(ASN_PACKAGE), `asn-ipv${family}-num.csv`));
    const { table, skipped } = parseAsnTable(csv, family);
    if (table.count === 0) throw new Error(`${ASN_PACKAGE}/asn-ipv${family}-num.csv: no ASN ranges`);
    if (skipped > 0) console.warn(`rootwatch ip data: ${skipped} malformed rows skipped in asn-ipv${family}-num.csv`);
    fs.writeFileSync(path.join(outDir, `asn-ipv${family}.bin`), serializeAsnTable(compactAsnTable(table), family));
  }
  const versions = {};
  for (const [name, list] of Object.entries(LICENSE_FILES)) {
    const dir = path.join(outDir, 'licenses', name);
    fs.mkdirSync(dir, { recursive: true });
    for (const file of list) fs.copyFileSync(path.join(packageDir(name), file), path.join(dir, file));
    versions[name] = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
  }
  fs.writeFileSync(path.join(outDir, 'NOTICE.md'), notice(versions));
  fs.writeFileSync(manifestFile, `${JSON.stringify(inputs, null, 2)}\n`);
};

/**
 * The file variable source: writes the folder once per process, and gives its path (`${file(./resources/ip-data.cjs):dir}`)
 * and the package pattern that ships it (`${file(./resources/ip-data.cjs):pattern}`).
 */
const resolveIpData = () => {
  writeIpData();
  return { dir: IP_DATA_DIR, pattern: `${IP_DATA_DIR}/**` };
};

module.exports = resolveIpData;
module.exports.writeIpData = writeIpData;
module.exports.IP_DATA_DIR = IP_DATA_DIR;
