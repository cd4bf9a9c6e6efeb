/// <reference lib="dom" />
// The control panel: one input per setting, grouped, each marked with what a change costs
// (live: the next step; restarts: a fresh run). Changes are reported as patches; the panel never
// applies them itself, so the runner can refuse or adjust them (e.g. λ when the regulariser changes).
import { TOY_DATASETS } from '../common/toy_data.js';
import { EPS_KINDS, REG_LABELS, REGULARISERS, type Settings } from './settings.js';

type Key = keyof Settings;

interface Field {
  key: Key;
  label: string;
  /** select options, or a number input */
  options?: readonly string[];
  labels?: Record<string, string>;
  step?: string;
  restarts?: boolean;
  title: string;
}

const GROUPS: { title: string; fields: Field[] }[] = [
  {
    title: 'Regulariser',
    fields: [
      {
        key: 'reg',
        label: 'regulariser',
        options: REGULARISERS,
        labels: REG_LABELS,
        title: 'switching to or from SN rebuilds the critic (and restarts)',
      },
      {
        key: 'lambda',
        label: 'λ',
        step: 'any',
        title: "penalty weight (ALP, GP, LP); set to the regulariser's default when it changes",
      },
      {
        key: 'K',
        label: 'K',
        step: 'any',
        title: 'target Lipschitz constant: a pair violates when its quotient exceeds K',
      },
    ],
  },
  {
    title: 'ALP search',
    fields: [
      { key: 'xi', label: 'ξ', step: 'any', title: 'probe distance of each power-iteration step' },
      { key: 'k', label: 'k', step: '1', title: 'power-iteration steps (0: random direction)' },
      {
        key: 'epsKind',
        label: 'ε distribution',
        options: EPS_KINDS,
        labels: { uniform: 'uniform', logUniform: 'log-uniform', fixed: 'fixed (= max)' },
        title: 'P_ε, drawn per sample',
      },
      { key: 'epsMin', label: 'ε min', step: 'any', title: 'lower end of P_ε' },
      { key: 'epsMax', label: 'ε max', step: 'any', title: 'upper end of P_ε (the value for fixed)' },
    ],
  },
  {
    title: 'Training',
    fields: [
      { key: 'lr', label: 'learning rate', step: 'any', title: 'Adam (β = 0.5, 0.9) for both networks' },
      { key: 'nCritic', label: 'n_critic', step: '1', title: 'critic steps per generator step' },
      {
        key: 'batch',
        label: 'batch size',
        step: '1',
        restarts: true,
        title: 'real and generated samples per critic step',
      },
      { key: 'dataset', label: 'dataset', options: TOY_DATASETS, restarts: true, title: 'the data distribution' },
      {
        key: 'dim',
        label: 'width',
        step: '1',
        restarts: true,
        title: 'hidden width of the toy MLPs (3 hidden layers each)',
      },
      {
        key: 'seed',
        label: 'seed',
        step: '1',
        restarts: true,
        title: 'seeds the models, the data stream and every draw',
      },
      {
        key: 'viewEvery',
        label: 'views every',
        step: '1',
        title: 'iterations between view refreshes (each costs one readback)',
      },
    ],
  },
];

export interface ControlHandlers {
  change(patch: Partial<Settings>): void;
  pause(): void;
  step(): void;
  reset(): void;
  probe(): void;
}

export class Controls {
  private readonly inputs = new Map<Key, HTMLInputElement | HTMLSelectElement>();
  readonly pauseButton: HTMLButtonElement;
  readonly stepButton: HTMLButtonElement;
  readonly probeButton: HTMLButtonElement;

  constructor(root: HTMLElement, settings: Settings, h: ControlHandlers) {
    const buttons = document.createElement('div');
    buttons.className = 'buttons';
    const button = (id: string, text: string, fn: () => void) => {
      const b = document.createElement('button');
      b.id = id;
      b.textContent = text;
      b.addEventListener('click', fn);
      buttons.append(b);
      return b;
    };
    this.pauseButton = button('pause', 'Pause', h.pause);
    this.stepButton = button('step', 'Step', h.step);
    button('reset', 'Reset', h.reset);
    this.probeButton = button('probe', 'Probe search', h.probe);
    root.append(buttons);

    for (const group of GROUPS) {
      const fs = document.createElement('fieldset');
      const lg = document.createElement('legend');
      lg.textContent = group.title;
      fs.append(lg);
      for (const f of group.fields) {
        const row = document.createElement('label');
        row.title = f.title;
        const name = document.createElement('span');
        name.textContent = f.label;
        if (f.restarts) {
          const tag = document.createElement('small');
          tag.textContent = ' restarts';
          name.append(tag);
        }
        let input: HTMLInputElement | HTMLSelectElement;
        if (f.options) {
          const sel = document.createElement('select');
          for (const o of f.options) sel.add(new Option(f.labels?.[o] ?? o, o));
          input = sel;
        } else {
          const inp = document.createElement('input');
          inp.type = 'number';
          inp.step = f.step ?? 'any';
          input = inp;
        }
        input.id = `c-${f.key}`;
        input.addEventListener('change', () => {
          const raw = input.value;
          h.change({ [f.key]: f.options ? raw : Number(raw) } as Partial<Settings>);
        });
        this.inputs.set(f.key, input);
        row.append(name, input);
        fs.append(row);
      }
      root.append(fs);
    }
    this.show(settings);
  }

  /** Shows the settings in force (after a change was applied, adjusted or refused). */
  show(s: Settings): void {
    for (const [key, input] of this.inputs) input.value = String(s[key]);
    // the search's inputs matter for ALP training, and for the probe and the pairs view otherwise
    (this.inputs.get('epsMin') as HTMLInputElement).disabled = s.epsKind === 'fixed';
    (this.inputs.get('lambda') as HTMLInputElement).disabled = s.reg === 'sn' || s.reg === 'none';
  }

  showRunning(running: boolean): void {
    this.pauseButton.textContent = running ? 'Pause' : 'Resume';
    this.stepButton.disabled = running;
  }

  setBusy(busy: boolean): void {
    this.probeButton.disabled = busy;
  }
}
