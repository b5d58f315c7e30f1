/** Saves text as a file through the browser's download (Electron's main decides where it goes). */
export function downloadText(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has read the blob by the time this runs; revoking at once can cancel it in some engines.
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
