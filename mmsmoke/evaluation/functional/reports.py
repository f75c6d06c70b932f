"""Text tables and per-image rows that ``SmokeMetric`` logs and writes."""
from typing import Dict, List, Tuple

from prettytable import PrettyTable

from .count_scores import fosp_scores, raises_alarm

#: Columns of the per-size-group table.
GROUP_COLUMNS = ('num_images', 'mF1_img', 'mIoU_img', 'mRecall_img',
                 'mMSE_img', 'Fbeta_max', 'MAE')


def summary_table(metrics: Dict[str, object]) -> str:
    """The metrics without a ``.`` in their key as a two-column table."""
    table = PrettyTable(field_names=['Metric', 'Value'])
    table.align['Metric'] = 'l'
    for key, value in metrics.items():
        if '.' in key:
            continue
        table.add_row([key, f'{value:.4f}'])
    return table.get_string()


def size_group_table(group_rows: List[Tuple[str, dict]]) -> str:
    """One row per size group (``-`` where a mean ran over no image).

    Args:
        group_rows (list[tuple[str, dict]]): ``(group, scores)``, where
            ``scores`` holds the group's ``<group>.<column>`` values (the
            family of :func:`.count_scores.size_group_families`, or the
            whole metric dict).
    """
    cols = list(GROUP_COLUMNS)
    groups = PrettyTable(field_names=['Size group'] + cols)
    for group, family in group_rows:
        row = [group]
        for col in cols:
            value = family.get(f'{group}.{col}')
            row.append('-' if value is None else f'{value:.4f}')
        groups.add_row(row)
    return groups.get_string()


def per_image_rows(records: List[dict], empty_gt_policy: str,
                   min_alarm_area: float) -> List[dict]:
    """The JSON rows of ``per_image_results.json``, one per record.

    F1/IoU are None for an image the ``empty_gt_policy`` excludes, the SOD
    scores for an image without them.
    """
    rows = []
    for r in records:
        scores = fosp_scores(r, empty_gt_policy)
        sod = r.get('sod')
        rows.append(
            dict(
                img_path=r['img_path'],
                size_group=r['size_group'],
                num_valid_pixels=r['num_valid'],
                gt_fraction=r['num_gt'] / r['num_valid'],
                pred_fraction=r['num_pred'] / r['num_valid'],
                F1=None if scores is None else scores[0],
                IoU=None if scores is None else scores[1],
                MSE=r['sq_err'] / r['num_valid'],
                alarm=raises_alarm(r, min_alarm_area),
                Fbeta_adp=None if sod is None else sod['fm_adp'],
                MAE_sod=None if sod is None else sod['mae'],
                Smeasure=None if sod is None else sod['sm'],
                Emeasure_adp=None if sod is None else sod['em_adp']))
    return rows
