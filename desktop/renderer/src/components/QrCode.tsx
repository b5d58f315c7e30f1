import { useEffect, useState } from 'react';
import { toDataURL } from 'qrcode';
import { Address, CopyButton } from './Address.tsx';

/** The deposit address as a QR code: a data: image, which the CSP allows (img-src data:). */
export function QrCode(props: { text: string }) {
  const [src, setSrc] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let current = true;
    toDataURL(props.text, { errorCorrectionLevel: 'M', margin: 2, width: 200 })
      .then((url) => current && setSrc(url))
      .catch(() => current && setFailed(true));
    return () => {
      current = false;
    };
  }, [props.text]);
  if (failed) return <p className="problem">The QR code could not be drawn; copy the address instead.</p>;
  if (!src) return null;
  return <img className="qr" src={src} width={200} height={200} alt="QR code of the deposit address" />;
}

/** The "Show QR code" toggle and the code itself, under an address. */
function QrToggle(props: { address: string }) {
  const [shown, setShown] = useState(false);
  return (
    <>
      <button type="button" className="small secondary" aria-expanded={shown} onClick={() => setShown((s) => !s)}>
        {shown ? 'Hide QR code' : 'Show QR code'}
      </button>
      {shown ? (
        <div className="qr-box">
          <QrCode text={props.address} />
        </div>
      ) : null}
    </>
  );
}

/** A wallet's deposit address with what a depositor needs to pass it on: copy, or scan from another device. */
export function DepositAddress(props: { address: string }) {
  return (
    <div className="address-cell">
      <Address value={props.address} />
      <span className="row-actions">
        <CopyButton text={props.address} />
        <QrToggle address={props.address} />
      </span>
    </div>
  );
}
