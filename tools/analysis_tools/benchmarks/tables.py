"""Markdown tables of the report: values, goal status, the row table."""
from typing import List


def fmt(value, digits: int = 4) -> str:
    """A cell: '-' for None, yes/no, integers as they are, 4 digits."""
    if value is None:
        return '-'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f'{value:.3e}'
        return f'{value:.{digits}g}'
    return str(value)


def status(row: dict) -> str:
    """The goal column: met, **MISSED** or not assessed."""
    if not row.get('goal'):
        return ''
    met = row.get('goal_met')
    if met is True:
        return 'met'
    if met is False:
        return f'**MISSED** (goal: {row["goal"]})'
    return 'not assessed'


def row_table(rows: List[dict], show_settings: bool = True) -> List[str]:
    """One line per row, notes numbered below the table."""
    if not rows:
        return ['(no rows)', '']
    columns = ['name', 'metric', 'value', 'baseline', 'ratio', 'unit']
    if show_settings:
        columns.append('settings')
    columns += ['goal', 'status']
    out = ['| ' + ' | '.join(columns) + ' |', '|' + '---|' * len(columns)]
    notes = []
    for r in rows:
        settings = '; '.join(f'{k} {fmt(v)}'
                             for k, v in r.get('settings', {}).items())
        base = fmt(r.get('baseline'))
        if r.get('baseline_name') and r.get('baseline') is not None:
            base = f'{base} ({r["baseline_name"]})'
        ratio = fmt(r.get('ratio'), 3)
        if r.get('ratio') is not None and not str(r.get(
                'ratio_def', '')).startswith('value - '):
            ratio += 'x'  # a factor; a difference has no suffix
        name = r['name']
        if r.get('note'):
            notes.append(f'{len(notes) + 1}. {r["name"]}, {r["metric"]}: '
                         f'{r["note"]}')
            name += f' [{len(notes)}]'
        cells = [
            name, r['metric'],
            fmt(r.get('value')), base, ratio,
            r.get('unit', '')
        ]
        if show_settings:
            cells.append(settings)
        cells += [r.get('goal') or '', status(r)]
        out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')
    if notes:
        out += ['Notes:', ''] + notes + ['']
    return out
