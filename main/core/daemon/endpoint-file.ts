import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-file.ts';

export const ENDPOINT_FILE = 'endpoint.json';

export interface EndpointInfo {
  url: string;
  socket: string | null;
  pid: number;
  version: string;
  /** The owner key: this file is 0600, readable by this user only. */
  key: string;
}

export async function writeEndpointFile(home: string, info: EndpointInfo): Promise<string> {
  const path = join(home, ENDPOINT_FILE);
  await writeFileAtomic(path, `${JSON.stringify(info, null, 2)}\n`, 0o600);
  return path;
}

export async function removeEndpointFile(home: string): Promise<void> {
  await unlink(join(home, ENDPOINT_FILE)).catch(() => undefined);
}
