import type { Settings } from '../../../shared/broker-api.ts';
import { useApi, useWindow } from '../context.tsx';

export function SettingsView() {
  const api = useApi();
  const run = useWindow((s) => s.run);
  const overview = useWindow((s) => s.overview);
  if (!overview) return null;
  const change = (patch: Partial<Settings>) => void run(() => api.updateSettings(patch), 'Could not save the setting');
  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div className="settings">
        <label className="check">
          <input type="checkbox" checked={overview.settings.notifications} onChange={(e) => change({ notifications: e.target.checked })} /> Notify me when an account needs me or a tool asks for a key
        </label>
        <label className="check">
          <input type="checkbox" checked={overview.settings.startAtLogin} onChange={(e) => change({ startAtLogin: e.target.checked })} /> Start Tokentray when I log in (desktop app)
        </label>
      </div>
      <p className="hint">
        Tokentray {overview.version} · keychain: {overview.keychain ? 'available' : 'unavailable — tokens are in memory only'}
      </p>
    </section>
  );
}
