// Small building blocks the views share: a titled card, a fact row and a counter.

import { h } from '../dom';

/** A card with a title over its body. */
export function card(title: string, ...body: (Node | string | null)[]): HTMLElement {
  return h('div', { class: 'card' }, h('h2', null, title), ...body);
}

/** A label and its value, for a `<dl>`. */
export function fact(label: string, value: string | Node, testid?: string): Node[] {
  return [h('dt', null, label), h('dd', testid ? { 'data-testid': testid } : null, value)];
}

/** A big number over its label. */
export function stat(label: string, value: string, testid: string): HTMLElement {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-value', 'data-testid': testid }, value), h('div', { class: 'stat-label' }, label));
}
