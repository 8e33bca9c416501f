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
