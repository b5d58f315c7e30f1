/** A column of row buttons needs no visible title, but a screen reader moving through the table still names it. */
export function ActionsHeader() {
  return (
    <th scope="col">
      <span className="visually-hidden">Actions</span>
    </th>
  );
}
