'use strict';
// Renders demo-site into $PROVISOR_SYSTEM_ROOT/srv/www: the stylesheet as is,
// index.html from its template with the title from the component's
// configuration (the "title" parameter), or a default one.
const fs = require('node:fs');
const path = require('node:path');

const packageDir = process.env.PROVISOR_PACKAGE_DIR || __dirname;
const root = process.env.PROVISOR_SYSTEM_ROOT;
if (!root) {
  console.error('demo-site: PROVISOR_SYSTEM_ROOT is not set');
  process.exit(1);
}

function readConfig() {
  try {
    return JSON.parse(fs.readFileSync(process.env.PROVISOR_CONFIG || '', 'utf8'));
  } catch {
    return {};
  }
}

function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// Readers (the running server) never see a half-written file.
function writeAtomically(file, data) {
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, data);
  fs.renameSync(temporary, file);
}

const config = readConfig();
const title = typeof config.title === 'string' && config.title.trim() !== '' ? config.title : 'Provisor demo site';
const docroot = path.join(root, 'srv', 'www');
fs.mkdirSync(docroot, { recursive: true });
writeAtomically(path.join(docroot, 'site.css'), fs.readFileSync(path.join(packageDir, 'content', 'site.css')));
const template = fs.readFileSync(path.join(packageDir, 'content', 'index.html'), 'utf8');
writeAtomically(path.join(docroot, 'index.html'), template.split('{{title}}').join(escapeHtml(title)));
console.log(`demo-site: rendered ${path.join(docroot, 'index.html')} titled "${title}"`);
