/** The portal's one stylesheet, served as a file so the CSP needs no inline styles. */
export const PORTAL_CSS = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; gap: .6rem 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #1d3557; color: #fff; }
header a { color: #fff; }
header .brand { font-weight: 700; text-decoration: none; }
nav { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; flex: 1; }
nav .who { margin-left: auto; opacity: .85; }
main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid #d9dde3; padding: .4rem .6rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
form.inline { display: inline; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input, select, button { max-width: 100%; box-sizing: border-box; font: inherit; }
.help { color: #5a6472; font-size: .9em; margin: .2rem 0; }
.error { color: #a4161a; font-weight: 600; }
.field-error { color: #a4161a; margin: .2rem 0; }
.notice { background: #e9f5ec; border: 1px solid #9ccfa8; padding: .6rem; }
.price { white-space: nowrap; }
input:user-invalid, select:user-invalid, .field.refused input, .field.refused select { border-color: #a4161a; outline-color: #a4161a; }
button { margin-top: .6rem; }
.state { font-weight: 700; }
.actions input[name=reason] { width: 16rem; }
dd { overflow-wrap: anywhere; }
fieldset.reading { border: 0; padding: 0; margin: 0; min-width: 0; }
svg.gantt { background: #fff; border: 1px solid #d9dde3; max-width: 100%; height: auto; }
@media (max-width: 40rem) {
  header { padding: .6rem .8rem; }
  nav .who { margin-left: 0; }
  main { margin: 1rem auto; padding: 0 .8rem; }
  table, tbody, tr, th, td { display: block; width: auto; }
  thead { display: none; }
  tr { border-bottom: 1px solid #d9dde3; padding: .3rem 0; }
  th, td { border-bottom: 0; padding: .15rem .6rem; }
  td[data-label]::before { content: attr(data-label) ": "; font-weight: 600; }
  .actions input[name=reason] { width: 100%; }
}
`;

/** A plain icon, so browsers do not ask for a /favicon.ico that does not exist. */
export const PORTAL_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d3557"/><path d="M4 12V4h5a2.5 2.5 0 0 1 0 5H4" stroke="#fff" stroke-width="2" fill="none"/></svg>';
