/**
 * Browsers compile an input's `pattern` attribute with the `v` flag, which
 * rejects some classes the catalog's patterns are written with (a literal
 * `-` at the end of a class, `(`, `{`, `/` or `|` unescaped inside one); a
 * rejected pattern is ignored with a console error. This escapes those
 * literal characters inside classes, which means the same in either mode.
 */
const LITERAL_IN_CLASS = new Set(['(', ')', '[', '{', '}', '/', '|']);

function escapeClasses(pattern: string): string {
  let out = '';
  let inClass = false;
  let classStart = 0; // index in `out` right after `[` or `[^`
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '\\') {
      out += c + (pattern[i + 1] ?? '');
      i++;
      continue;
    }
    if (!inClass) {
      if (c === '[') {
        inClass = true;
        out += c;
        if (pattern[i + 1] === '^') {
          out += '^';
          i++;
        }
        classStart = out.length;
      } else {
        out += c;
      }
      continue;
    }
    if (c === ']') {
      // as in JavaScript, `]` always ends a class (`[]` is an empty one)
      inClass = false;
      out += c;
    } else if (c === '-' && (out.length === classStart || pattern[i + 1] === ']')) {
      out += '\\-';
    } else if (LITERAL_IN_CLASS.has(c)) {
      out += `\\${c}`;
    } else {
      out += c;
    }
  }
  return out;
}

function compiles(pattern: string, flags: string): boolean {
  try {
    new RegExp(`^(?:${pattern})$`, flags);
    return true;
  } catch {
    return false;
  }
}

/** The pattern as a browser accepts it in `pattern="…"`, or undefined when it cannot be (the server still checks it). */
export function htmlPattern(pattern: string): string | undefined {
  if (compiles(pattern, 'v')) return pattern;
  const escaped = escapeClasses(pattern);
  return compiles(escaped, 'v') && compiles(escaped, 'u') ? escaped : undefined;
}
