"""The dataset card template (installed as ``warp_ir_dataset.dataset_card``)."""
