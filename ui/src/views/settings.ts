// The settings tab: start at login, the settings form (fields and raw JSON) and facts about this device.

import { ApiError } from '../api';
import { h, renderIfChanged, setText } from '../dom';
import { errorText } from '../errors';
import { DASH, formatUptime } from '../format';
import { FIELDS, SECTIONS, formPatch, fromInput, getPath, placeError, toInput, warningsByField, type Field } from '../settings';
import type { ConfigAnswer } from '../types';
import type { ViewContext } from './context';
import { fact } from './parts';

/** The settings tab. */
export interface SettingsView {
  root: HTMLElement;
  /** Redraws the start-at-login card and the device facts (the form is drawn when the config is read). */
  render(): void;
  /** Reads the config from the engine and redraws the form from it. */
  reload(): Promise<void>;
}

/** The form control's id for a field. */
function fieldId(f: Field): string {
  return `cfg-${f.key.replace(/\./g, '-')}`;
}

/** The control that edits a field, showing `value`. */
function fieldInput(f: Field, value: unknown): HTMLElement {
  const v = toInput(f, value);
  const common = { id: fieldId(f), name: f.key, 'data-key': f.key };
  if (f.kind === 'bool') return h('input', { ...common, type: 'checkbox', checked: v === true });
  if (f.kind === 'enum') return h('select', common, ...(f.options ?? []).map((o) => h('option', { value: o, selected: o === v }, o)));
  if (f.kind === 'list') return h('textarea', { ...common, rows: 2, spellcheck: 'false' }, String(v));
  return h('input', { ...common, type: 'text', inputmode: f.kind === 'number' ? 'numeric' : null, value: String(v), spellcheck: 'false', autocomplete: 'off' });
}

/** Builds the settings tab over a context. */
export function createSettingsView({ state, api, actions, refresh }: ViewContext): SettingsView {
  const autostart = h('div', { class: 'card', 'data-testid': 'autostart' });
  const form = h('form', { class: 'settings-form card', 'data-testid': 'settings-form', novalidate: true });
  const about = h('dl', { class: 'facts card', 'data-testid': 'about' });
  const root = h('section', { class: 'view', 'data-view': 'settings' }, autostart, form, about);

  let formError: { key: string | null; message: string } | null = null;
  let formNotice: string | null = null;

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void saveConfig({ patch: formChanges() });
  });

  async function reload(): Promise<void> {
    try {
      state.config = await api.call<ConfigAnswer>('getConfig');
      renderForm();
    } catch (e) {
      renderIfChanged(form, `err:${errorText(e)}`, () => [h('p', { class: 'error' }, `Cannot read the settings: ${errorText(e)}`)]);
    }
  }

  function renderForm(): void {
    const cfg = state.config;
    if (!cfg) return;
    const warns = warningsByField(cfg.warnings);
    const err = formError ? placeError(formError.message, formError.key) : null;
    const errKey = err?.field ? err.key : null;
    const generalErr = formError && !errKey ? formError.message : null;
    const children: Array<Node | null> = [
      h('h2', null, 'Settings'),
      h('div', { class: 'form-error', 'data-testid': 'form-error', role: 'alert' }, generalErr ?? ''),
      formNotice ? h('div', { class: 'ok form-notice', 'data-testid': 'form-notice' }, formNotice) : null,
      (warns.get('') ?? []).length ? h('ul', { class: 'warning-list' }, ...(warns.get('') ?? []).map((w) => h('li', null, w))) : null,
      ...SECTIONS.map((sec) =>
        h(
          'fieldset',
          null,
          h('legend', null, sec.title),
          ...sec.fields.map((f) => {
            const input = fieldInput(f, getPath(cfg.config, f.key));
            const invalid = errKey === f.key;
            if (invalid) input.setAttribute('aria-invalid', 'true');
            const w = warns.get(f.key) ?? [];
            return h(
              'div',
              { class: `field field-${f.kind}${invalid ? ' invalid' : ''}` },
              f.kind === 'bool'
                ? h('label', { for: fieldId(f), class: 'check' }, input, h('span', null, f.label))
                : [h('label', { for: fieldId(f) }, f.label), input],
              f.hint ? h('div', { class: 'hint muted small' }, f.hint) : null,
              invalid && err ? h('div', { class: 'field-error', 'data-error-for': f.key, role: 'alert' }, err.message) : null,
              ...w.map((t) => h('div', { class: 'field-warning', 'data-warning-for': f.key }, t)),
            );
          }),
        ),
      ),
      h(
        'details',
        { class: 'advanced' },
        h('summary', null, 'Edit as JSON (all keys)'),
        h('textarea', { class: 'json-editor mono', rows: 14, spellcheck: 'false', 'data-testid': 'config-json' }, JSON.stringify(cfg.config, null, 2)),
        h('div', { class: 'row' }, h('button', { type: 'button', 'data-testid': 'save-json', onclick: () => void saveJson() }, 'Save JSON')),
      ),
      h(
        'div',
        { class: 'row form-actions' },
        h('button', { type: 'submit', class: 'primary', 'data-testid': 'save-settings' }, 'Save'),
        h('button', { type: 'button', onclick: () => ((formError = null), (formNotice = null), void reload()) }, 'Revert'),
        h('span', { class: 'muted small' }, `File: ${cfg.path}`),
      ),
    ];
    form.replaceChildren(...children.filter((n): n is Node => n !== null));
  }

  /** The keys the user changed in the form, as a merge patch over the effective config. */
  function formChanges(): Record<string, unknown> {
    const values: Array<[Field, unknown]> = [];
    for (const f of FIELDS) {
      const input = form.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(`[data-key="${f.key}"]`);
      if (!input) continue;
      const raw = f.kind === 'bool' ? (input as HTMLInputElement).checked : input.value;
      values.push([f, fromInput(f, raw)]);
    }
    return formPatch(state.config?.config ?? {}, values);
  }

  /** Saves the form's changes (PATCH) or, from the JSON editor, a whole document (PUT). */
  async function saveConfig(body: { patch: unknown } | { config: unknown }): Promise<void> {
    formNotice = null;
    try {
      state.config = await api.call<ConfigAnswer>('patch' in body ? 'patchConfig' : 'putConfig', body);
      formError = null;
      formNotice = state.config.warnings.length ? 'Saved, with the warnings shown.' : 'Saved. The engine applied the new settings.';
      renderForm();
      refresh('status', 'nearby');
    } catch (e) {
      formError = { key: e instanceof ApiError && e.field ? e.field : null, message: errorText(e) };
      // Keep what the user typed: show the error without rebuilding the inputs.
      showFormError();
    }
  }

  function showFormError(): void {
    form.querySelectorAll('.field-error').forEach((n) => n.remove());
    form.querySelectorAll('.invalid').forEach((n) => n.classList.remove('invalid'));
    form.querySelectorAll('[aria-invalid]').forEach((n) => n.removeAttribute('aria-invalid'));
    form.querySelector('.form-notice')?.remove();
    const general = form.querySelector('[data-testid="form-error"]');
    if (!formError) return setText(general, '');
    const placed = placeError(formError.message, formError.key);
    const input = placed.field ? form.querySelector<HTMLElement>(`[data-key="${placed.field.key}"]`) : null;
    const wrap = input?.closest('.field');
    if (input && wrap && placed.field) {
      setText(general, '');
      wrap.classList.add('invalid');
      input.setAttribute('aria-invalid', 'true');
      wrap.append(h('div', { class: 'field-error', 'data-error-for': placed.field.key, role: 'alert' }, placed.message));
      input.focus();
    } else {
      setText(general, formError.message);
    }
  }

  async function saveJson(): Promise<void> {
    const ta = form.querySelector<HTMLTextAreaElement>('[data-testid="config-json"]');
    if (!ta) return;
    let doc: unknown;
    try {
      doc = JSON.parse(ta.value);
    } catch (e) {
      formError = { key: null, message: `Not valid JSON: ${errorText(e)}` };
      showFormError();
      return;
    }
    await saveConfig({ config: doc });
  }

  function render(): void {
    const a = state.autostart;
    renderIfChanged(autostart, `${api.transport}:${a}`, () =>
      api.transport === 'tauri'
        ? [
            h('h2', null, 'Start at login'),
            h(
              'label',
              { class: 'check' },
              h('input', {
                type: 'checkbox',
                'data-testid': 'autostart-toggle',
                checked: a === true,
                disabled: a === null,
                onchange: (ev: Event) => void actions.toggleAutostart((ev.target as HTMLInputElement).checked),
              }),
              h('span', null, 'Start Mayros Sync when I log in (it stays in the tray)'),
            ),
          ]
        : [
            h('h2', null, 'Start at login'),
            h('p', { class: 'muted', 'data-testid': 'autostart-unavailable' }, 'Start at login is only available in the desktop app.'),
          ],
    );
    const s = state.status;
    const uptime = typeof s?.uptimeSeconds === 'number' ? formatUptime(s.uptimeSeconds + (Date.now() - state.statusAt) / 1000) : DASH;
    renderIfChanged(about, JSON.stringify([s?.nodeId, s?.version, s?.peerApi, uptime, s?.configPath]), () => [
      h('h2', null, 'This device'),
      ...fact('Name', s?.name ?? DASH),
      ...fact('Node id', h('span', { class: 'mono small' }, s?.nodeId ?? DASH)),
      ...fact('Version', s?.version ?? DASH),
      ...fact('Uptime', uptime),
      ...fact('Peer API', s?.peerApi ?? DASH),
      ...fact('Local API', api.transport === 'http' ? location.host : DASH),
      ...fact('Config file', s?.configPath ?? DASH),
    ]);
  }

  return { root, render, reload };
}
