// A very small DOM for testing the renderer under Node: elements, text nodes, attributes, events.
class Node {
  constructor(ownerDocument) { this.ownerDocument = ownerDocument; this.childNodes = []; this.parentNode = null; }
  appendChild(child) {
    if (child.nodeType === 11) { for (const c of [...child.childNodes]) this.appendChild(c); return child; }
    child.parentNode = this;
    this.childNodes.push(child);
    return child;
  }
  get textContent() { return this.childNodes.map((c) => c.textContent).join(""); }
}
class Text extends Node {
  constructor(doc, text) { super(doc); this.nodeType = 3; this.data = String(text); }
  get textContent() { return this.data; }
}
class Element extends Node {
  constructor(doc, tag) {
    super(doc);
    this.nodeType = 1; this.tagName = tag.toUpperCase(); this.attributes = {}; this.listeners = {};
    this.className = ""; this.id = ""; this.hidden = false;
  }
  setAttribute(name, value) { this.attributes[name] = String(value); if (name === "id") this.id = String(value); }
  getAttribute(name) { return name in this.attributes ? this.attributes[name] : null; }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatch(type) { for (const fn of this.listeners[type] || []) fn({ type, target: this }); }
  get options() { return this.findAll((n) => n.tagName === "OPTION"); }
  get classList() { return { contains: (c) => this.className.split(/\s+/).includes(c) }; }
  findAll(pred, out = []) {
    for (const c of this.childNodes) if (c.nodeType === 1) { if (pred(c)) out.push(c); c.findAll(pred, out); }
    return out;
  }
  find(pred) { return this.findAll(pred)[0] || null; }
  byTag(tag) { return this.findAll((n) => n.tagName === tag.toUpperCase()); }
  byClass(cls) { return this.findAll((n) => n.classList.contains(cls)); }
}
export class FakeDocument {
  createElement(tag) { return new Element(this, tag); }
  createTextNode(text) { return new Text(this, text); }
}
