/*
 * site.js: the engine's snippet for the insurer's pages. No dependencies, no other host.
 *
 *   <script src="{engine origin}/v1/site.js" data-key="{ingest key}" async></script>
 *   optional: data-customer-id="C1001" (signed in), data-endpoint="{engine origin}"
 *   (the endpoint defaults to the origin the script was loaded from)
 *
 * It keeps a first-party visitor cookie (ecrm_vid), sends a page_view, fills every
 * [data-slot] element (hero, side, banner, content) from /v1/personalize, reports the
 * items shown (offer_viewed, one batch) and clicked (offer_clicked), each with the
 * item's token. It never throws into the page: a failure leaves the page's own content.
 */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script || !window.fetch || !window.crypto) return;
  const key = script.getAttribute('data-key');
  if (!key) return;
  const endpoint = (script.getAttribute('data-endpoint') || new URL(script.src).origin).replace(/\/+$/, '');
  const customerId = script.getAttribute('data-customer-id') || null;
  const COOKIE = 'ecrm_vid';
  const SLOTS = ['hero', 'side', 'banner', 'content'];
  const VALID_ID = /^[A-Za-z0-9_-]{8,64}$/;

  const randomId = (bytes) => {
    const buf = new Uint8Array(bytes);
    crypto.getRandomValues(buf);
    return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
  };

  const visitorId = (() => {
    const found = document.cookie.split('; ').find((c) => c.startsWith(COOKIE + '='));
    const known = found ? decodeURIComponent(found.slice(COOKIE.length + 1)) : '';
    const id = VALID_ID.test(known) ? known : randomId(16);
    // Two years from the last visit, written again on every page (Chromium caps a
    // cookie at 400 days; the rewrite keeps a returning visitor's id all the same).
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    document.cookie = `${COOKIE}=${id}; Max-Age=63072000; Path=/; SameSite=Lax${secure}`;
    return id;
  })();

  const event = (type, properties) => {
    const e = { event_id: `web-${randomId(12)}`, type, visitor_id: visitorId, properties };
    if (customerId) e.customer_id = customerId;
    return e;
  };

  const send = (events, keepalive) =>
    fetch(`${endpoint}/v1/events`, {
      method: 'POST',
      headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
      body: JSON.stringify(events.length === 1 ? events[0] : { events }),
      keepalive: Boolean(keepalive), // a click navigates away: the request must outlive the page
      credentials: 'omit',
    }).catch((err) => console.warn('site.js: events not sent', err));

  const pageView = () => {
    const props = { url: location.pathname, title: document.title.slice(0, 300) };
    if (document.referrer) props.referrer = document.referrer.slice(0, 2000);
    new URLSearchParams(location.search).forEach((value, name) => {
      if (name.startsWith('utm_') && name.length <= 40) props[name] = value.slice(0, 200);
    });
    return send([event('page_view', props)]);
  };

  const personalize = async (slots, withCustomer) => {
    const query = new URLSearchParams({ visitor_id: visitorId, page: location.pathname, slots: slots.join(',') });
    if (withCustomer) query.set('customer_id', customerId);
    const answer = await fetch(`${endpoint}/v1/personalize?${query}`, {
      headers: { 'X-API-Key': key },
      credentials: 'omit',
    });
    // A customer id the engine does not know yet: personalize for the visitor instead.
    if (answer.status === 404 && withCustomer) return personalize(slots, false);
    if (!answer.ok) throw new Error(`personalize answered ${answer.status}`);
    return answer.json();
  };

  // Only http(s) links, resolved against this page: never a javascript: URL from data.
  const safeUrl = (url) => {
    try {
      const resolved = new URL(url, location.origin);
      return resolved.protocol === 'https:' || resolved.protocol === 'http:' ? resolved.href : null;
    } catch (err) {
      return null;
    }
  };

  const clicked = (item, slot) =>
    send([event('offer_clicked', { token: item.token, slot, key: item.key, url: location.pathname })], true);

  const render = (item, slot) => {
    const href = item.url ? safeUrl(item.url) : null;
    const node = document.createElement(href ? 'a' : 'div');
    node.className = `ecrm-item ecrm-${item.kind}`;
    node.setAttribute('data-kind', item.kind);
    node.setAttribute('data-key', item.key);
    if (href) {
      node.href = href;
      node.addEventListener('click', () => clicked(item, slot));
    }
    if (item.name && item.name !== item.text) {
      const name = document.createElement('strong');
      name.className = 'ecrm-name';
      name.textContent = item.name;
      node.appendChild(name);
    }
    const text = document.createElement('span');
    text.className = 'ecrm-text';
    text.textContent = item.text;
    node.appendChild(text);
    return node;
  };

  const fill = (elements, answer) => {
    const shown = new Map(); // token → event: each item reported once
    elements.forEach((element) => {
      const slot = element.getAttribute('data-slot');
      const items = (answer.slots && answer.slots[slot]) || [];
      if (!items.length) {
        element.setAttribute('data-filled', 'false'); // the page's own content stays
        return;
      }
      element.textContent = '';
      items.forEach((item) => element.appendChild(render(item, slot)));
      element.setAttribute('data-filled', 'true');
      items.forEach((item) => {
        if (item.token && !shown.has(item.token)) {
          shown.set(item.token, event('offer_viewed', { token: item.token, slot, key: item.key, url: location.pathname }));
        }
      });
    });
    if (shown.size) send([...shown.values()]);
    document.dispatchEvent(new CustomEvent('ecrm:filled', { detail: { visitorId, holdout: answer.holdout } }));
  };

  const run = async () => {
    pageView();
    const elements = Array.from(document.querySelectorAll('[data-slot]')).filter((el) =>
      SLOTS.includes(el.getAttribute('data-slot')),
    );
    if (!elements.length) return;
    const slots = [...new Set(elements.map((el) => el.getAttribute('data-slot')))];
    try {
      fill(elements, await personalize(slots, Boolean(customerId)));
    } catch (err) {
      console.warn('site.js: no personalized content', err);
    }
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', run);
  else run();
})();
