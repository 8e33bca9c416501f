/** Plain-DOM form controls shared by the views (labels and options set as text). */

/** ``control`` inside a <label> that starts with ``text``; ``className`` styles the label. */
export function labelled(doc: Document, text: string, control: HTMLElement, className = ""): HTMLLabelElement {
  const label = doc.createElement("label");
  if (className) label.className = className;
  label.append(doc.createTextNode(`${text} `), control);
  return label;
}

/** A <select> of ``[value, text]`` options calling ``onChange`` with the chosen value. */
export function select(doc: Document, name: string, options: readonly [string, string][], value: string,
  onChange: (value: string) => void): HTMLSelectElement {
  const el = doc.createElement("select");
  el.name = name;
  for (const [v, text] of options) {
    const opt = doc.createElement("option");
    opt.value = v;
    opt.textContent = text;
    el.appendChild(opt);
  }
  el.value = value;
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

/** A checkbox calling ``onChange`` with its state. */
export function checkbox(doc: Document, name: string, checked: boolean, onChange: (value: boolean) => void): HTMLInputElement {
  const el = doc.createElement("input");
  el.type = "checkbox";
  el.name = name;
  el.checked = checked;
  el.addEventListener("change", () => onChange(el.checked));
  return el;
}

/** A button labelled ``text``; ``className`` styles it. */
export function button(doc: Document, text: string, onClick: () => void, className = ""): HTMLButtonElement {
  const el = doc.createElement("button");
  el.type = "button";
  if (className) el.className = className;
  el.textContent = text;
  el.addEventListener("click", onClick);
  return el;
}

/** A range input calling ``onChange`` with the value on release. */
export function slider(doc: Document, name: string, value: number, min: number, max: number, step: number,
  onChange: (value: number) => void): HTMLInputElement {
  const el = doc.createElement("input");
  el.type = "range";
  el.name = name;
  el.min = String(min);
  el.max = String(max);
  el.step = String(step);
  el.value = String(value);
  el.addEventListener("change", () => onChange(Number(el.value)));
  return el;
}
