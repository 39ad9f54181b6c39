// Shared by the page's modules: element lookup and creation.
/** The first element matching a CSS selector. */
export const $ = (sel) => document.querySelector(sel);

/** An element with attributes (`class`, `text` or any attribute) and children. */
export function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') n.className = v;
    else if (k === 'text') n.textContent = v;
    else n.setAttribute(k, v);
  }
  for (const c of children) n.append(c);
  return n;
}
