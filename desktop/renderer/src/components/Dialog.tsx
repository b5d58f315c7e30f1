// A modal dialog: focus moves in and is kept in, Escape closes (unless work is running that must not be abandoned
// unseen), and the page behind is inert and hidden from assistive technology, so only the dialog's controls exist.

import { useEffect, useId, useRef, type ReactNode } from 'react';
import { createPortal } from 'react-dom';

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

let openCount = 0;

function setBackgroundHidden(hidden: boolean) {
  const root = document.getElementById('root');
  if (!root) return;
  root.inert = hidden;
  if (hidden) root.setAttribute('aria-hidden', 'true');
  else root.removeAttribute('aria-hidden');
}

export function Dialog(props: {
  title: string;
  onClose(): void;
  /** While true, Escape and the close button do nothing: the user sees the work through. */
  busy?: boolean;
  children: ReactNode;
  wide?: boolean;
}) {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);
  const { onClose, busy } = props;
  const closeRef = useRef(onClose);
  const busyRef = useRef(busy);
  useEffect(() => {
    closeRef.current = onClose;
    busyRef.current = busy;
  });

  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    openCount++;
    setBackgroundHidden(true);
    const box = ref.current;
    const first = box?.querySelector<HTMLElement>('[data-autofocus]') ?? box?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? box)?.focus();

    // On the document, not the dialog: when the dialog's content changes (a form giving way to progress), focus can
    // fall back to <body>, and Escape and Tab must still work from there.
    const onKeyDown = (e: KeyboardEvent) => {
      if (!box) return;
      if (e.key === 'Escape') {
        e.preventDefault();
        if (!busyRef.current) closeRef.current();
        return;
      }
      if (e.key !== 'Tab') return;
      const items = [...box.querySelectorAll<HTMLElement>(FOCUSABLE)];
      const head = items[0];
      const tail = items[items.length - 1];
      if (!head || !tail) {
        e.preventDefault();
        box.focus();
      } else if (!box.contains(document.activeElement)) {
        e.preventDefault();
        (e.shiftKey ? tail : head).focus();
      } else if (e.shiftKey && document.activeElement === head) {
        e.preventDefault();
        tail.focus();
      } else if (!e.shiftKey && document.activeElement === tail) {
        e.preventDefault();
        head.focus();
      }
    };
    document.addEventListener('keydown', onKeyDown);
    return () => {
      document.removeEventListener('keydown', onKeyDown);
      openCount--;
      if (openCount === 0) setBackgroundHidden(false);
      if (before?.isConnected) before.focus();
    };
  }, []);

  return createPortal(
    <div className="overlay">
      <div
        ref={ref}
        className={props.wide ? 'dialog wide' : 'dialog'}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
      >
        <div className="dialog-head">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" className="icon-button" aria-label="Close" disabled={busy} onClick={onClose}>
            ×
          </button>
        </div>
        <div className="dialog-body">{props.children}</div>
      </div>
    </div>,
    document.body,
  );
}
