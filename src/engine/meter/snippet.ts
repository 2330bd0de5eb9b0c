/** A metered environment as text to paste or `eval`: sh, fish, PowerShell or a .env file. */

export type SnippetFormat = 'sh' | 'fish' | 'powershell' | 'dotenv';

export interface SnippetEntry {
  variable: string;
  value: string;
}

/** The variables as a snippet to paste into a shell, a profile or a .env file. */
export function setupSnippet(format: SnippetFormat, entries: readonly SnippetEntry[], note?: string): string {
  const lines = [`# Burn Rate: route AI SDK calls through the local spend proxy${note ? ` (${note})` : ''}`];
  for (const e of entries) {
    switch (format) {
      case 'sh':
        lines.push(`export ${e.variable}='${e.value.replace(/'/g, `'\\''`)}'`);
        break;
      case 'fish':
        lines.push(`set -gx ${e.variable} '${e.value.replace(/[\\']/g, '\\$&')}'`);
        break;
      case 'powershell':
        lines.push(`$env:${e.variable} = '${e.value.replace(/'/g, "''")}'`);
        break;
      case 'dotenv':
        lines.push(`${e.variable}=${e.value}`);
        break;
    }
  }
  return lines.join('\n') + '\n';
}
