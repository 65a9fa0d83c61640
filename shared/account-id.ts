/** Account ids are slugs: they name keychain items, files and routes. */
export const ACCOUNT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID_PATTERN.test(value);
}

/** Turn a free-text name into an id: lower case, ASCII, runs of other characters become `-`. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 64)
    .replace(/[-.]+$/, '');
  return slug;
}
