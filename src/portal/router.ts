import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { WORK_ORDER_STATES, type WorkOrderState } from '../../entities';
import { LoginRefused, type LoginGuard } from '../auth/login-guard';
import type { Principal } from '../auth/principal';
import { principalOf, type UserStore } from '../auth/users';
import type { Config } from '../config';
import { isProvisorError, type ProvisorError } from '../errors';
import type { Logger } from '../log';
import { ADMIN_ACTIONS, InvalidParametersError, type AdminAction, type ParameterInput, type WorkOrders, type WorkOrderTypeView, type WorkOrderView } from '../workorders/api';
import { volumesOf } from '../workorders/volumes';
import type { ChangeManager } from '../changemanager/change-manager';
import { CHANGE_STATES, type ChangeState } from '../changemanager/change-plan';
import { CHANGE_PAGE_SIZE, changeHref, changePage, changesPage } from './change-pages';
import type { Html } from './html';
import { errorPage, homeOf, type Viewer } from './layout';
import { loginPage } from './login-page';
import { adminPage, orderPage, ordersPage, type TypeIndex } from './order-pages';
import { noStore, readCookies, sameOrigin, securityHeaders, setCookie } from './security';
import { LOGIN_FORM_TTL_MS, randomToken, tokensEqual, type LoginTokens, type Session, type SessionStore } from './sessions';
import { PORTAL_CSS, PORTAL_ICON } from './style';
import { RECENT_REQUESTS, systemsPage, volumesPage, type SystemsOverview } from './system-pages';
import { submittedPage, taskScreen, typesPage } from './type-pages';

export interface PortalDependencies {
  readonly workOrders: WorkOrders;
  /** The change manager, for the admin's change pages. */
  readonly changes: ChangeManager;
  readonly users: UserStore;
  /** The managed systems and provisioning requests, for the admin's systems page. */
  readonly systems: SystemsOverview;
  /** Throttling and lockout of log-ins, shared with the SOAP services. */
  readonly login: LoginGuard;
  /** Sessions in the database: any process serves any of them. */
  readonly sessions: SessionStore;
  /** The log-in form's tokens, keyed from the shared secret key: a form from any process posts to any other. */
  readonly loginTokens: LoginTokens;
  readonly config: Config['portal'];
  readonly logger: Logger;
}

/** The session cookie (its value is the session id) and the pre-session cookie that guards the log-in form. */
export const SESSION_COOKIE = 'provisor_session';
export const LOGIN_COOKIE = 'provisor_login';

/** Roles the portal serves; operators and engines use SOAP. */
const PORTAL_ROLES = new Set(['customer', 'admin']);
const PAGE_SIZE = 20;
/** The most orders one call of the work-order list returns. */
const MAX_LIST = 1000;
/** Order ids are positive INT columns. */
const ORDER_ID = /^[1-9][0-9]{0,9}$/;
const MAX_ORDER_ID = 2_147_483_647;
const CHANGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUBMISSION_KEY = /^[A-Za-z0-9_-]{16,64}$/;

/** A logged-in request: who, and the session it came with. */
interface Visit extends Viewer {
  readonly session: Session;
}

type PageHandler = (req: Request, res: Response, visit: Visit) => Promise<void>;

function send(res: Response, status: number, body: Html): void {
  res.status(status).type('html').send(body.text);
}

/** A single-valued form field; absent, or given more than once, is undefined. */
function field(req: Request, name: string): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body?.[name];
  return typeof value === 'string' ? value : undefined;
}

function queryValue(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

/** How a refused call reads as an HTTP status in the portal: things the viewer may not see do not exist. */
function statusOf(err: ProvisorError): number {
  switch (err.code) {
    case 'UnknownWorkOrderType':
    case 'UnknownWorkOrder':
    case 'UnknownChange':
      return 404;
    case 'Forbidden':
      return 403;
    case 'InvalidState':
    case 'IdempotencyConflict':
      return 409;
    default:
      return err.sender ? 400 : err.httpStatus;
  }
}

const TITLES: Record<number, string> = { 400: 'Bad request', 401: 'Not logged in', 403: 'Forbidden', 404: 'Not found', 409: 'Not possible now', 413: 'Too large', 415: 'Unsupported form', 429: 'Too many attempts', 500: 'Something went wrong', 503: 'Unavailable' };

/** A page only an after-log-in redirect may lead to: a portal path, never another site. */
function safeNext(next: string | undefined): string | undefined {
  return next !== undefined && /^\/portal\/[A-Za-z0-9/_?=&.%+-]*$/.test(next) && !next.startsWith('//') ? next : undefined;
}

/**
 * The HTML portal: log-in, the types a customer may order, their task screens,
 * orders and the admin's desk. Everything goes through the WorkOrders API as
 * channel `portal`; the portal adds sessions, CSRF protection and HTML.
 */
export function portalRouter(deps: PortalDependencies): Router {
  const { workOrders, changes, users, systems, login, sessions, loginTokens, config, logger } = deps;
  const router = express.Router();

  const fail = (res: Response, status: number, message: string, viewer?: Viewer, back?: { href: string; label: string }): void => {
    noStore(res);
    send(res, status, errorPage(status, TITLES[status] ?? 'Error', message, viewer, back));
  };

  /** The visit behind the session cookie, with the user's role and level as they are now; undefined when logged out. */
  const currentVisit = async (req: Request): Promise<Visit | undefined> => {
    const id = readCookies(req).get(SESSION_COOKIE);
    if (id === undefined) return undefined;
    const session = await sessions.touch(id);
    if (session === undefined) return undefined;
    const user = await users.findByName(session.userName);
    if (user === null || user.disabled || !PORTAL_ROLES.has(user.role)) {
      await sessions.delete(session.id);
      return undefined;
    }
    return { principal: principalOf(user), csrfToken: session.csrfToken, session };
  };

  /** Requires a log-in; turns the service's refusals into pages. */
  const page =
    (handler: PageHandler) =>
    async (req: Request, res: Response): Promise<void> => {
      const visit = await currentVisit(req);
      if (visit === undefined) {
        if (req.method === 'GET') {
          res.redirect(303, `/portal/login?next=${encodeURIComponent(req.originalUrl)}`);
        } else {
          fail(res, 401, 'Your session has ended. Log in again, then repeat what you were doing.', undefined, { href: '/portal/login', label: 'Log in' });
        }
        return;
      }
      noStore(res);
      try {
        await handler(req, res, visit);
      } catch (err) {
        if (!isProvisorError(err) || err instanceof InvalidParametersError) throw err;
        const status = statusOf(err);
        if (status >= 500) throw err;
        fail(res, status, err.message, visit);
      }
    };

  /** A state-changing POST: same origin and the session's synchronizer token, or 403 and nothing happens. */
  const action = (handler: PageHandler): ReturnType<typeof page> =>
    page(async (req, res, visit) => {
      if (!sameOrigin(req)) {
        logger.warn('portal: cross-origin form refused', { user: visit.principal.name, path: req.path, origin: req.headers.origin });
        fail(res, 403, 'This form was sent from another site and was refused.', visit);
        return;
      }
      if (!tokensEqual(field(req, '_csrf') ?? '', visit.session.csrfToken)) {
        logger.warn('portal: form without a valid CSRF token refused', { user: visit.principal.name, path: req.path });
        fail(res, 403, 'The form was refused: its security token is missing or out of date. Reload the page and try again.', visit);
        return;
      }
      await handler(req, res, visit);
    });

  /** The types the viewer may see, by name: their titles and parameter labels. */
  const typeIndex = async (visit: Visit): Promise<TypeIndex> => new Map((await workOrders.listTypes(visit.principal)).map((t) => [t.name, t]));

  const requireAdmin = (res: Response, visit: Visit): boolean => {
    if (visit.principal.role === 'admin') return true;
    fail(res, 403, 'This page is for administrators only.', visit);
    return false;
  };

  const renderLogin = (req: Request, res: Response, status: number, options: { name?: string; error?: string; next?: string }): void => {
    let cookie = readCookies(req).get(LOGIN_COOKIE);
    let token: string;
    if (loginTokens.usable(cookie)) {
      token = loginTokens.tokenFor(cookie);
    } else {
      ({ cookie, token } = loginTokens.issue());
      setCookie(res, LOGIN_COOKIE, cookie, { secure: config.secureCookies, maxAgeSeconds: LOGIN_FORM_TTL_MS / 1000 });
    }
    noStore(res);
    send(res, status, loginPage(token, options));
  };

  router.use(securityHeaders);
  router.get('/portal.css', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('css').send(PORTAL_CSS);
  });
  router.get('/favicon.svg', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=86400').type('image/svg+xml').send(PORTAL_ICON);
  });
  router.use(express.urlencoded({ extended: false, limit: '64kb', parameterLimit: 1000 }));

  router.get('/', async (req, res) => {
    const visit = await currentVisit(req);
    res.redirect(303, visit === undefined ? '/portal/login' : homeOf(visit.principal));
  });

  router.get('/login', async (req, res) => {
    const next = safeNext(queryValue(req, 'next'));
    const visit = await currentVisit(req);
    if (visit !== undefined) {
      res.redirect(303, next ?? homeOf(visit.principal));
      return;
    }
    renderLogin(req, res, 200, { next });
  });

  router.post('/login', async (req, res) => {
    const name = field(req, 'name') ?? '';
    const password = field(req, 'password') ?? '';
    const next = safeNext(field(req, 'next'));
    if (!sameOrigin(req)) {
      logger.warn('portal: cross-origin log-in refused', { origin: req.headers.origin });
      fail(res, 403, 'This log-in form was sent from another site and was refused.');
      return;
    }
    if (!loginTokens.verify(readCookies(req).get(LOGIN_COOKIE), field(req, '_csrf'))) {
      logger.warn('portal: log-in without a valid form token refused', { user: name, ip: req.socket.remoteAddress });
      renderLogin(req, res, 403, { name, next, error: 'The log-in form was refused: its security token is missing or out of date. Please try again.' });
      return;
    }
    let principal: Principal | null = null;
    try {
      if (name !== '') principal = await login.attempt({ name, address: req.socket.remoteAddress, channel: 'portal' }, () => (password === '' ? Promise.resolve(null) : users.verify(name, password)));
    } catch (err) {
      if (!(err instanceof LoginRefused)) throw err;
      // Refused before the password was looked at; the guard has logged and counted it.
      if (err.retryAfterSeconds !== undefined) res.set('Retry-After', String(err.retryAfterSeconds));
      const error =
        err.code === 'AccountLocked'
          ? 'This account is locked after too many failed log-ins. Ask an administrator to unlock it.'
          : `Too many failed log-ins. Please wait ${err.retryAfterSeconds ?? 1} seconds, then try again.`;
      renderLogin(req, res, err.code === 'AccountLocked' ? 403 : 429, { name, next, error });
      return;
    }
    if (principal === null) {
      logger.warn('portal: log-in failed', { user: name, ip: req.socket.remoteAddress });
      renderLogin(req, res, 401, { name, next, error: 'Unknown user name or wrong password.' });
      return;
    }
    if (!PORTAL_ROLES.has(principal.role)) {
      logger.warn('portal: log-in refused for role', { user: name, role: principal.role });
      fail(res, 403, 'The portal is for customers and administrators; use the SOAP services with this user.');
      return;
    }
    // A new id on every log-in, so a session id planted before it is worth nothing after.
    const previous = readCookies(req).get(SESSION_COOKIE);
    if (previous !== undefined) await sessions.delete(previous);
    const session = await sessions.create(principal.name);
    setCookie(res, SESSION_COOKIE, session.id, { secure: config.secureCookies });
    setCookie(res, LOGIN_COOKIE, '', { secure: config.secureCookies, maxAgeSeconds: 0 });
    logger.info('portal: logged in', { user: principal.name, role: principal.role });
    res.redirect(303, next ?? homeOf(principal));
  });

  router.post(
    '/logout',
    action(async (_req, res, visit) => {
      await sessions.delete(visit.session.id);
      setCookie(res, SESSION_COOKIE, '', { secure: config.secureCookies, maxAgeSeconds: 0 });
      logger.info('portal: logged out', { user: visit.principal.name });
      res.redirect(303, '/portal/login');
    }),
  );

  router.get(
    '/types',
    page(async (_req, res, visit) => {
      send(res, 200, typesPage(visit, await workOrders.listTypes(visit.principal)));
    }),
  );

  router.get(
    '/types/:name',
    page(async (req, res, visit) => {
      const type = await workOrders.getType(visit.principal, String(req.params.name));
      send(res, 200, taskScreen(visit, type, { values: new Map(), errors: new Map(), general: [], submissionKey: randomToken() }));
    }),
  );

  router.post(
    '/types/:name',
    action(async (req, res, visit) => {
      // Refused here already when the viewer's level does not allow the type: nothing is submitted.
      const type = await workOrders.getType(visit.principal, String(req.params.name));
      const { parameters, values, problems } = readParameters(req, type);
      const key = field(req, '_key');
      const idempotencyKey = key !== undefined && SUBMISSION_KEY.test(key) ? key : undefined;
      let errors: readonly { parameter: string; message: string }[] = problems;
      if (errors.length === 0) {
        try {
          const { workOrderId } = await workOrders.submit(visit.principal, { type: type.name, parameters, channel: 'portal', idempotencyKey });
          logger.info('portal: work order submitted', { user: visit.principal.name, type: type.name, workOrderId });
          send(res, 201, submittedPage(visit, type, workOrderId));
          return;
        } catch (err) {
          if (!(err instanceof InvalidParametersError)) throw err;
          errors = err.problems;
        }
      }
      const named = new Set(type.parameters.map((p) => p.name));
      const byParameter = new Map<string, string[]>();
      for (const p of errors.filter((e) => named.has(e.parameter))) byParameter.set(p.parameter, [...(byParameter.get(p.parameter) ?? []), p.message]);
      const general = errors.filter((e) => !named.has(e.parameter)).map((e) => `${e.parameter}: ${e.message}`);
      send(res, 400, taskScreen(visit, type, { values, errors: byParameter, general, submissionKey: randomToken() }));
    }),
  );

  router.get(
    '/orders',
    page(async (req, res, visit) => {
      const stateText = queryValue(req, 'state') ?? '';
      if (stateText !== '' && !(WORK_ORDER_STATES as readonly string[]).includes(stateText)) {
        fail(res, 400, `There is no state "${stateText}"; the states are ${WORK_ORDER_STATES.join(', ')}.`, visit, { href: '/portal/orders', label: 'All orders' });
        return;
      }
      const state = stateText === '' ? undefined : (stateText as WorkOrderState);
      const pageText = queryValue(req, 'page') ?? '1';
      const pageNumber = /^[1-9][0-9]{0,5}$/.test(pageText) ? Number(pageText) : 1;
      const [result, types] = await Promise.all([workOrders.list(visit.principal, { state, offset: (pageNumber - 1) * PAGE_SIZE, limit: PAGE_SIZE }), typeIndex(visit)]);
      send(res, 200, ordersPage(visit, types, { state, page: pageNumber, pageSize: PAGE_SIZE }, result));
    }),
  );

  router.get(
    '/orders/:id',
    page(async (req, res, visit) => {
      const id = orderId(String(req.params.id));
      if (id === undefined) {
        fail(res, 404, `There is no work order "${String(req.params.id)}".`, visit);
        return;
      }
      const order = await workOrders.get(visit.principal, id);
      const done = queryValue(req, 'done');
      const notice = done !== undefined && (ADMIN_ACTIONS as readonly string[]).includes(done) ? `Done: ${done} of work order ${id} recorded.` : undefined;
      send(res, 200, orderPage(visit, await typeIndex(visit), order, notice));
    }),
  );

  router.get(
    '/admin',
    page(async (_req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const [failed, waiting, types] = await Promise.all([
        workOrders.list(visit.principal, { state: 'FAILED', limit: 100 }),
        workOrders.list(visit.principal, { state: 'NEW', manual: true, limit: 100 }),
        typeIndex(visit),
      ]);
      send(res, 200, adminPage(visit, types, failed, waiting.orders));
    }),
  );

  router.get(
    '/admin/systems',
    page(async (_req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const [overview, requests] = await Promise.all([systems.systems(), systems.recentRequests(RECENT_REQUESTS)]);
      send(res, 200, systemsPage(visit, overview, requests));
    }),
  );

  router.get(
    '/volumes',
    page(async (_req, res, visit) => {
      if (visit.principal.role !== 'customer') {
        fail(res, 403, 'This page shows a customer\'s own volumes; administrators see the pools on the systems page.', visit, { href: '/portal/admin/systems', label: 'Systems' });
        return;
      }
      const closed: WorkOrderView[] = [];
      for (let offset = 0; ; offset += MAX_LIST) {
        const result = await workOrders.list(visit.principal, { state: 'CLOSED', offset, limit: MAX_LIST });
        closed.push(...result.orders);
        if (result.orders.length < MAX_LIST || closed.length >= result.total) break;
      }
      send(res, 200, volumesPage(visit, volumesOf(closed)));
    }),
  );

  router.post(
    '/admin/orders/:id',
    action(async (req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const id = orderId(String(req.params.id));
      if (id === undefined) {
        fail(res, 404, `There is no work order "${String(req.params.id)}".`, visit);
        return;
      }
      const back = { href: `/portal/orders/${id}`, label: `Back to work order ${id}` };
      const actionName = field(req, 'action') ?? '';
      if (!(ADMIN_ACTIONS as readonly string[]).includes(actionName)) {
        fail(res, 400, `"${actionName}" is not an action; the actions are ${ADMIN_ACTIONS.join(', ')}.`, visit, back);
        return;
      }
      const reason = (field(req, 'reason') ?? '').trim();
      if (reason === '') {
        fail(res, 400, 'A reason is required: it is recorded in the order\'s history.', visit, back);
        return;
      }
      try {
        await workOrders.act(visit.principal, id, actionName as AdminAction, reason);
      } catch (err) {
        if (isProvisorError(err) && err.code === 'InvalidState') {
          fail(res, 409, err.message, visit, back);
          return;
        }
        throw err;
      }
      logger.info('portal: admin action', { user: visit.principal.name, workOrderId: id, action: actionName });
      res.redirect(303, `/portal/orders/${id}?done=${actionName}`);
    }),
  );

  router.get(
    '/admin/changes',
    page(async (req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const stateText = queryValue(req, 'state');
      const state = stateText === undefined || stateText === '' ? undefined : stateText;
      if (state !== undefined && !(CHANGE_STATES as readonly string[]).includes(state)) {
        fail(res, 400, `"${state}" is not a change state; the states are ${CHANGE_STATES.join(', ')}.`, visit);
        return;
      }
      const pageText = queryValue(req, 'page') ?? '1';
      const pageNumber = /^[1-9][0-9]{0,5}$/.test(pageText) ? Number(pageText) : undefined;
      if (pageNumber === undefined) {
        fail(res, 400, `"${pageText}" is not a page number.`, visit);
        return;
      }
      const list = await changes.list({ state: state as ChangeState | undefined, offset: (pageNumber - 1) * CHANGE_PAGE_SIZE, limit: CHANGE_PAGE_SIZE });
      send(res, 200, changesPage(visit, list, state as ChangeState | undefined));
    }),
  );

  router.get(
    '/admin/changes/:id',
    page(async (req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const id = String(req.params.id);
      if (!CHANGE_ID.test(id)) {
        fail(res, 404, `There is no change "${id}".`, visit);
        return;
      }
      send(res, 200, changePage(visit, await changes.get(id)));
    }),
  );

  router.post(
    '/admin/changes/:id/cancel',
    action(async (req, res, visit) => {
      if (!requireAdmin(res, visit)) return;
      const id = String(req.params.id);
      if (!CHANGE_ID.test(id)) {
        fail(res, 404, `There is no change "${id}".`, visit);
        return;
      }
      const reason = (field(req, 'reason') ?? '').trim();
      await changes.decide(id, 'cancel', visit.principal.name, { reason: reason === '' ? undefined : reason.slice(0, 1000) });
      logger.info('portal: change cancelled', { user: visit.principal.name, changeId: id });
      res.redirect(303, changeHref(id));
    }),
  );

  router.use(
    page(async (_req, res, visit) => {
      fail(res, 404, 'There is no such page in the portal.', visit, { href: homeOf(visit.principal), label: 'Back to the portal' });
    }),
  );

  // Malformed or oversized bodies, and anything unexpected.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const status = (err as { status?: unknown }).status;
    const type = (err as { type?: unknown }).type;
    if (type === 'entity.too.large') {
      fail(res, 413, 'The form is too large (the limit is 64 KB).');
    } else if (typeof status === 'number' && status >= 400 && status < 500) {
      fail(res, status, 'The request could not be read.');
    } else {
      logger.error('portal: request failed', { path: req.path, method: req.method, err: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      fail(res, 500, 'Something went wrong on our side; it was logged. Please try again later.');
    }
  });

  return router;
}

function orderId(text: string): number | undefined {
  if (!ORDER_ID.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ORDER_ID ? id : undefined;
}

/**
 * The type's parameters from the form, in its order. Empty fields are left
 * out (so defaults apply and a missing required one is reported by the
 * service); fields the type does not declare are ignored.
 */
function readParameters(req: Request, type: WorkOrderTypeView): { parameters: ParameterInput[]; values: Map<string, string>; problems: { parameter: string; message: string }[] } {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const parameters: ParameterInput[] = [];
  const values = new Map<string, string>();
  const problems: { parameter: string; message: string }[] = [];
  for (const definition of type.parameters) {
    const value = Object.hasOwn(body, definition.name) ? body[definition.name] : undefined;
    if (Array.isArray(value)) {
      problems.push({ parameter: definition.name, message: 'given more than once' });
      continue;
    }
    if (typeof value !== 'string') {
      values.set(definition.name, '');
      continue;
    }
    values.set(definition.name, value);
    if (value !== '') parameters.push({ name: definition.name, value });
  }
  return { parameters, values, problems };
}
