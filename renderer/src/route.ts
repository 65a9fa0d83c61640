import { useSyncExternalStore } from 'react';

/** Where the window is: a hash route, so the same build works from `/` and from `app://`. */
export type Route =
  | { view: 'accounts' }
  | { view: 'account'; id: string }
  | { view: 'add' }
  | { view: 'tools' }
  | { view: 'activity' }
  | { view: 'settings' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const account = /^\/accounts\/([a-z0-9][a-z0-9._-]{0,63})$/.exec(path);
  if (account) return { view: 'account', id: account[1]! };
  switch (path) {
    case '/add':
      return { view: 'add' };
    case '/tools':
      return { view: 'tools' };
    case '/activity':
      return { view: 'activity' };
    case '/settings':
      return { view: 'settings' };
    default:
      return { view: 'accounts' };
  }
}

export const hrefFor = (route: Route): string => (route.view === 'account' ? `#/accounts/${route.id}` : route.view === 'accounts' ? '#/' : `#/${route.view}`);

export function navigate(route: Route): void {
  window.location.hash = hrefFor(route);
}

const subscribe = (notify: () => void) => {
  window.addEventListener('hashchange', notify);
  return () => window.removeEventListener('hashchange', notify);
};

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, () => window.location.hash);
  return parseRoute(hash);
}
