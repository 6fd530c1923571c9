// Building and updating the page of `peer ui`. Every element is built with
// createElement and text nodes, since names come from the network and must
// never be read as HTML.

/** Returns the element with the ID `id`. */
export function $(id) {
  return document.getElementById(id);
}

/** Creates an element; string children become text, never parsed as HTML. */
export function make(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    element.setAttribute(name, value);
  }
  element.append(...children);
  return element;
}

/** Creates a button labelled `TEXT NAME` for screen readers, and its click. */
export function button(className, text, name, onClick) {
  const label = `${text} ${name}`;
  const attributes = { type: "button", class: className, "aria-label": label };
  const element = make("button", attributes, text);
  element.addEventListener("click", onClick);
  return element;
}

/**
 * Makes `container`'s children match `items` in order, keeping the element
 * of each key so that focus stays where it was across redraws. When the
 * element holding focus goes (Stop sharing, Cancel), focus moves to the
 * same kind of button in the next element, else the previous one, else the
 * heading of the container's section.
 */
export function sync(container, items, keyOf, create, update) {
  const before = [...container.children];
  const old = new Map(before.map((c) => [c.dataset.key, c]));
  items.forEach((item, index) => {
    const key = keyOf(item);
    const element = old.get(key) ?? create(item);
    old.delete(key);
    element.dataset.key = key;
    update(element, item);
    const here = container.children[index] ?? null;
    if (here !== element) container.insertBefore(element, here);
  });
  const focused = [...old.values()].find((e) =>
    e.contains(document.activeElement)
  );
  const kind = focused ? document.activeElement.classList[0] : undefined;
  for (const element of old.values()) element.remove();
  if (focused) refocus(container, before, focused, kind);
}

/**
 * Focuses, instead of `gone` (a child of `container` removed), a button of
 * class `kind` (else any) in a neighbour, else the section's heading.
 */
function refocus(container, before, gone, kind) {
  const at = before.indexOf(gone);
  const kept = (e) => e.parentElement === container;
  const next = before.slice(at + 1).find(kept) ??
    before.slice(0, at).reverse().find(kept);
  const target = next &&
    ((kind && next.querySelector(`button.${CSS.escape(kind)}`)) ??
      next.querySelector("button"));
  if (target) return target.focus();
  container.closest("section")?.querySelector("h2")?.focus();
}

/** Calls `handler` on submit of the form `id`, without navigating. */
export function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}
