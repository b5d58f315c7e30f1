import { useChannel } from '../app/hooks.ts';
import { ErrorBanner } from '../components/ErrorBanner.tsx';
import { Loading } from '../components/Loading.tsx';
import { formatDate } from '../lib/format.ts';
import { activityAction } from '../lib/labels.ts';

export function ActivityScreen() {
  const activity = useChannel('activity.list', {}, { reloadOn: ['wallets', 'withdrawals', 'addressBook', 'devices'] });
  const entries = activity.data?.entries ?? [];
  return (
    <section aria-labelledby="activity-title">
      <div className="page-head">
        <h1 id="activity-title">Activity</h1>
        <button type="button" className="secondary" onClick={activity.reload} disabled={activity.loading}>
          Refresh
        </button>
      </div>
      <ErrorBanner error={activity.error} onRetry={activity.reload} />
      {activity.loading && !activity.data ? <Loading label="Loading activity…" /> : null}
      {activity.data && entries.length === 0 ? <p className="empty">No activity yet.</p> : null}
      {entries.length > 0 ? (
        <table aria-label="Activity">
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Action</th>
              <th scope="col">Subject</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={`${e.at}-${i}`}>
                <td>{formatDate(e.at)}</td>
                <td>{activityAction(e.action)}</td>
                <td>
                  <code className="mono">{e.subject}</code>
                </td>
                <td className="small-text">
                  {Object.entries(e.details)
                    .filter(([, v]) => v !== null && v !== '')
                    .map(([k, v]) => `${k}: ${String(v)}`)
                    .join(' · ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
