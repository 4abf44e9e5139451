"""`train_scoring_model [--segment NAME] [--activate]`: train the predictive model on closed leads and report it."""


from revops.base.commands import PipelineCommand
from scoring.choices import PredictiveStatus
from scoring.services import predictive_train


class Command(PipelineCommand):
    help = ("Train the win-probability model on closed (won/lost) leads; prints AUC, lift by decile and size, or "
            "why training was refused. --activate makes it live when the data suffices and the AUC is good enough.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--segment", default=None, help="only this segment's leads (default: every segment)")
        parser.add_argument("--activate", action="store_true", help="activate the model when it is good enough")

    def handle(self, *args, segment=None, activate=False, **options) -> None:
        row = predictive_train(segment=segment, activate=activate)
        name = segment or "all segments"
        self.stdout.write(f"segment: {name}; version {row.version}; {row.training_size} closed leads "
                          f"({row.positives} won, {row.training_size - row.positives} lost)")
        if row.status == PredictiveStatus.REFUSED:
            self.stdout.write(f"REFUSED: {row.refusal_reason}")
            return
        metrics = row.metrics
        self.stdout.write(f"algorithm: {row.algorithm}; AUC {metrics['auc']:.3f} ({metrics.get('evaluation', '')})")
        self.stdout.write("lift by decile (1 = highest scores): "
                          + " ".join(f"{i + 1}:{v:.2f}" for i, v in enumerate(metrics.get("lift_by_decile", []))))
        self.stdout.write(f"features: {metrics.get('features')}; feedback read: {metrics.get('feedback')}; "
                          f"left out for wrong data: {metrics.get('excluded_wrong_data', 0)}")
        if row.status == PredictiveStatus.ACTIVE:
            self.stdout.write(f"ACTIVE: version {row.version} is live; leads are being rescored")
        else:
            self.stdout.write(f"draft: {row.refusal_reason or 'not activated (run with --activate)'}")
