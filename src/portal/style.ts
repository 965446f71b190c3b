/** The portal's one stylesheet, served as a file so the CSP needs no inline styles. */
export const PORTAL_CSS = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #1d3557; color: #fff; }
header a { color: #fff; }
header .brand { font-weight: 700; text-decoration: none; }
nav { display: flex; gap: 1rem; align-items: center; flex: 1; }
nav .who { margin-left: auto; opacity: .85; }
main { max-width: 60rem; margin: 1.5rem auto; padding: 0 1.5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { border-bottom: 1px solid #d9dde3; padding: .4rem .6rem; text-align: left; vertical-align: top; }
form.inline { display: inline; }
label { display: block; font-weight: 600; margin-top: 1rem; }
.help { color: #5a6472; font-size: .9em; margin: .2rem 0; }
.error { color: #a4161a; font-weight: 600; }
.field-error { color: #a4161a; margin: .2rem 0; }
.notice { background: #e9f5ec; border: 1px solid #9ccfa8; padding: .6rem; }
.price { white-space: nowrap; }
input:invalid { border-color: #a4161a; }
button { margin-top: .6rem; }
.state { font-weight: 700; }
.actions input[name=reason] { width: 16rem; }
svg.gantt { background: #fff; border: 1px solid #d9dde3; max-width: 100%; height: auto; }
`;

/** A plain icon, so browsers do not ask for a /favicon.ico that does not exist. */
export const PORTAL_ICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d3557"/><path d="M4 12V4h5a2.5 2.5 0 0 1 0 5H4" stroke="#fff" stroke-width="2" fill="none"/></svg>';
