import { html, type Html } from './html';
import { page } from './layout';

/** The log-in form; `token` is the pre-session CSRF token that goes with the browser's pre-session cookie. */
export function loginPage(token: string, options: { name?: string; error?: string; next?: string } = {}): Html {
  return page(
    { title: 'Log in' },
    html`${options.error !== undefined && html`<p class="error" id="error-message" role="alert">${options.error}</p>`}
<form method="post" action="/portal/login" id="login-form">
  <input type="hidden" name="_csrf" value="${token}">
  ${options.next !== undefined && html`<input type="hidden" name="next" value="${options.next}">`}
  <label for="name">User name</label>
  <input id="name" name="name" autocomplete="username" required maxlength="200" value="${options.name ?? ''}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
  <button type="submit">Log in</button>
</form>`,
  );
}
