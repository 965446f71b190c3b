// Lint rules the style guide asks for: no floating promises, no import cycles, no `any` at module boundaries.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

// The layers (README, "Architecture"): src/xml at the bottom; above it, side
// by side, src/soap (the protocol) and the core parts, which do not import
// each other; src/wrappers (one file per SOAP service and the outbound
// senders) on top, wired together by src/app.ts. Imports only run downward.
const CORE = ['provisioning', 'workflow', 'bpel', 'workorders', 'drivers', 'db', 'auth', 'mail', 'portal', 'net', 'changemanager', 'packaging'].map((d) => `./src/${d}`);
// The SOAP layer may use two core folders that sit below it: auth (WS-Security
// checks a UsernameToken against the users, their passwords and the login
// throttle) and net (the one SOAP client sends through the policed, capped
// HTTP sender). Everything else of the core is above it.
const ABOVE_SOAP = CORE.filter((d) => d !== './src/auth' && d !== './src/net');
const LAYERS = [
  { target: './src/xml', from: './src', except: ['./xml', './errors.ts'], message: 'src/xml is the bottom layer: it imports nothing of the project but src/errors.ts.' },
  { target: './src/xml', from: './entities', message: 'src/xml is the bottom layer: it imports nothing of the project but src/errors.ts.' },
  { target: CORE, from: ['./src/soap', './src/wrappers'], message: 'Core parts do not import the SOAP or wrapper layers: expose an interface and let a wrapper adapt it (src/app.ts wires it in).' },
  { target: './src/soap', from: [...ABOVE_SOAP, './src/wrappers'], message: 'src/soap is the protocol layer: it imports src/xml, auth, net and the shared modules, never the core parts or the wrappers.' },
];

// SQL lives in each part's query module, src/<part>/sql.ts (README, "Where new code goes"),
// and in src/db (the database layer itself: connections, the group committer, migrations).
const SQL_START = '/^(SELECT|INSERT INTO|UPDATE \\S+ SET|DELETE FROM|REPLACE INTO) /';
const SQL_MESSAGE = "SQL text belongs in the part's query module (src/<part>/sql.ts): name the statement there and document it.";

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'scripts/demo-repo/**', 'scripts/wsdl-check/**', 'scripts/provisor.js', 'eslint.config.mjs', '.scratch/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false, attributes: false } }],
      '@typescript-eslint/no-explicit-any': 'error',
      'import-x/no-cycle': ['error', { maxDepth: 10 }],
      'import-x/no-restricted-paths': ['error', { zones: LAYERS }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/sql.ts', 'src/db/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${SQL_START}]`, message: SQL_MESSAGE },
        { selector: `TemplateLiteral > TemplateElement:first-child[value.raw=${SQL_START}]`, message: SQL_MESSAGE },
      ],
    },
  },
);
