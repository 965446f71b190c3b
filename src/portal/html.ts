/**
 * HTML built from templates whose interpolations are escaped unless they are
 * already `Html`: the only way to put text into a portal page. A trusted
 * fragment that must not be escaped is wrapped explicitly with `raw()`.
 */
export class Html {
  /** Use `html` or `raw()`; the constructor is public only for `instanceof`. */
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What an interpolation may hold: text and numbers are escaped, Html is kept, lists are joined, nothing renders as nothing. */
export type Interpolation = Html | string | number | boolean | null | undefined | readonly Interpolation[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for element content and quoted attribute values alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** A fragment taken as it is. Only for markup the portal itself wrote, never for data. */
export function raw(text: string): Html {
  return new Html(text);
}

function render(value: Interpolation): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map((v: Interpolation) => render(v)).join('');
  // false renders as nothing so that `${cond && html`…`}` reads naturally; true would be a mistake worth seeing.
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** The tagged template: html`<p>${name}</p>` escapes `name`. */
export function html(strings: TemplateStringsArray, ...values: Interpolation[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
