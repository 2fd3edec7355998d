/**
 * The words the user directory matches on (spec "User directory": "The search is performed
 * case-insensitively on user IDs and display names"). A word is a run of letters and digits,
 * lower-cased, so `@alice.smith:example.org` is `alice smith example org` and the term
 * `Ali Smi` matches it: every word of the term must start some word of the entry, as Synapse's
 * SQLite full-text search matches prefixes.
 */

/** Words of a search term used at most (the rest are ignored; each is one SQL parameter). */
export const MAX_SEARCH_WORDS = 8;

export function searchWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** The indexed text of an entry: each word after one space, and a space at the end. */
export function searchText(userId: string, displayname: string | undefined): string {
  const words = [...searchWords(userId), ...(displayname === undefined ? [] : searchWords(displayname))];
  return `${words.map((w) => ` ${w}`).join('')} `;
}
