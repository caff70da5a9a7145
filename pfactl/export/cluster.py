"""k-means: the id of the cluster whose centre is nearest.

``model.cluster.closest`` compares squared Euclidean distances and keeps the
first of equal ones, so a tie goes to the lowest cluster id, as in scikit-learn.
"""

from typing import Dict, Tuple

from sklearn.cluster import KMeans

from .builder import DOUBLE_ARRAY, AvroType, DocumentBuilder, Exporter, Expr
from .outputs import no_probabilities

CLUSTER = "Cluster"


def export_kmeans(estimator: KMeans, builder: DocumentBuilder, features: Expr, output: str) -> Tuple[AvroType, Expr]:
    no_probabilities(estimator, output)
    cluster_type = builder.named_type(CLUSTER, {
        "type": "record", "name": CLUSTER,
        "fields": [{"name": "id", "type": "int"}, {"name": "center", "type": DOUBLE_ARRAY}]})
    clusters = builder.cell("clusters", {"type": "array", "items": cluster_type},
                            [{"id": index, "center": [float(value) for value in center]}
                             for index, center in enumerate(estimator.cluster_centers_)])
    return "int", {"attr": {"model.cluster.closest": [features, clusters]}, "path": [{"string": "id"}]}


EXPORTERS: Dict[type, Exporter] = {KMeans: export_kmeans}
