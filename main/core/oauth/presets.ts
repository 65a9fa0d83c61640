// Preset data lives in shared/ (the add-account wizard shows it too); this adds the lookups.
import { PRESETS, type Preset } from '../../../shared/presets.ts';

export { PRESETS, type Preset };

export function findPreset(id: string | undefined): Preset | undefined {
  return id === undefined ? undefined : PRESETS[id];
}

/** Fills `{name}` placeholders from parameters; unknown ones stay visible so the error is clear. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{([a-z_]+)\}/g, (whole, name: string) => values[name] ?? whole);
}
