import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { BrokerApi } from '../../shared/broker-api.ts';
import type { WindowActions, WindowState, WindowStore } from './store.ts';

export const AppContext = createContext<{ api: BrokerApi; store: WindowStore } | null>(null);

function useApp() {
  const app = useContext(AppContext);
  if (!app) throw new Error('the window is used outside its AppContext');
  return app;
}

export const useApi = (): BrokerApi => useApp().api;

/** A narrow selector on the window store (re-renders only when the selected part changes). */
export function useWindow<T>(selector: (state: WindowState & WindowActions) => T): T {
  return useStore(useApp().store, selector);
}
