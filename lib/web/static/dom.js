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
 * of each key so that focus stays where it was across redraws.
 */
export function sync(container, items, keyOf, create, update) {
  const old = new Map([...container.children].map((c) => [c.dataset.key, c]));
  items.forEach((item, index) => {
    const key = keyOf(item);
    const element = old.get(key) ?? create(item);
    old.delete(key);
    element.dataset.key = key;
    update(element, item);
    const here = container.children[index] ?? null;
    if (here !== element) container.insertBefore(element, here);
  });
  for (const element of old.values()) element.remove();
}

/** Calls `handler` on submit of the form `id`, without navigating. */
export function onSubmit(id, handler) {
  $(id).addEventListener("submit", (event) => {
    event.preventDefault();
    handler();
  });
}
