import { readdir, readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';

/** The window's page may load only its own files and talk only to its own broker. */
export const UI_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Content types of the files the built window is made of (web mode and the desktop app's app:// both serve them). */
export const UI_FILE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Headers of every page and file of the window. */
export function pageHeaders(contentType: string, length: number): Record<string, string | number> {
  return {
    'content-type': contentType,
    'content-length': length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': UI_CSP,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  };
}

export interface StaticFiles {
  /** Answers the file at `pathname` and returns true, or returns false when there is none. */
  serve(pathname: string, res: ServerResponse, head: boolean): boolean;
}

/**
 * The built renderer, read once into memory at start: only files found there are ever
 * served (no path from a request reaches the file system), each with the window's CSP.
 */
export async function loadStaticFiles(dir: string): Promise<StaticFiles | null> {
  let names: string[];
  try {
    names = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  } catch {
    return null; // not built
  }
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const file of names) {
    const type = UI_FILE_TYPES[extname(file).toLowerCase()];
    if (!type) continue;
    files.set(`/${relative(dir, file).split(sep).join('/')}`, { body: await readFile(file), type });
  }
  if (!files.has('/index.html')) return null;
  return {
    serve(pathname, res, head) {
      const file = files.get(pathname === '/' ? '/index.html' : pathname);
      if (!file) return false;
      res.writeHead(200, pageHeaders(file.type, file.body.length));
      res.end(head ? undefined : file.body);
      return true;
    },
  };
}
