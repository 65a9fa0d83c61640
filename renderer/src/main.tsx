// The window's entry: the same renderer in the desktop shell (preload bridge) and in web mode
// (HTTP + SSE); only the transport differs.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { z } from 'zod';
import { bridgeBrokerApi } from './api/bridge-transport.ts';
import { httpBrokerApi } from './api/http-transport.ts';
import { App } from './App.tsx';
import { AppContext } from './context.tsx';
import { createWindowStore } from './store.ts';
import './styles.css';

// The page's CSP forbids eval: zod must not even probe for it.
z.config({ jitless: true });

const api = window.tokentray ? bridgeBrokerApi(window.tokentray) : httpBrokerApi();
const store = createWindowStore(api);
store.getState().start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <AppContext.Provider value={{ api, store }}>
      <App />
    </AppContext.Provider>
  </StrictMode>,
);
